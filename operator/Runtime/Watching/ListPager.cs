using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// Lists an informer's objects a page at a time (limit and continue), as the full list and the namespace fills both do:
/// a big list never arrives, or stays in memory, as one answer.
/// </summary>
internal sealed class ListPager<T>(CollectionRequests<T> requests, InformerOptions<T> options)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Lists are decoded once per page: their metadata is looked up each time (a cached lookup).</summary>
    private JsonTypeInfo<ListEnvelope<T>> ListJson => InformerJson.TypeInfo<ListEnvelope<T>>(options.KeepManagedFields);

    /// <summary>The pages of a list of <paramref name="namespace"/> (null: all namespaces), each with the list's resourceVersion.</summary>
    public async IAsyncEnumerable<ListPage<T>> ListPagesAsync(string? @namespace, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? continueToken = null;
        do
        {
            var query = new StringBuilder().Append("?limit=").Append(options.PageSize);
            options.AppendSelectors(query);
            if (continueToken is not null)
            {
                query.Append("&continue=").Append(Uri.EscapeDataString(continueToken));
            }

            var page = await SendListAsync(@namespace, query.ToString(), cancellationToken).ConfigureAwait(false);
            continueToken = page.Metadata?.ContinueProperty;
            yield return new ListPage<T>(page.Items ?? [], page.Metadata?.ResourceVersion);
        }
        while (!string.IsNullOrEmpty(continueToken));
    }

    private async Task<ListEnvelope<T>> SendListAsync(string? @namespace, string query, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var response = await requests.ListAsync(@namespace, query, timeout.Token).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            // Read into an array of the page's own, not (as HttpClient buffers) into the shared array pool, which keeps
            // what it lent for reuse: after a big list the pool held 1 MB arrays (a page of 500 Pods) for good. This
            // array is garbage once the page is decoded. (Decoding asynchronously from the network instead added 4 MB
            // of native code and more RSS than it saved: docs/benchmarks/notes.md, stop 16.)
            var length = response.Content.Headers.ContentLength is { } known and > 0 and < int.MaxValue ? (int)known : 64 * 1024;
            using var page = new MemoryStream(length);
            await stream.CopyToAsync(page, timeout.Token).ConfigureAwait(false);
            page.Position = 0;
            return JsonSerializer.Deserialize(page, ListJson)
                ?? throw new KubernetesApiException(HttpStatusCode.OK, null, null, "Empty list response.");
        }
    }
}

/// <summary>One page of a list, with the resourceVersion of the list it belongs to.</summary>
internal sealed record ListPage<T>(IList<T> Items, string? ResourceVersion) : IEnumerable<T>
{
    public IEnumerator<T> GetEnumerator() => Items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
