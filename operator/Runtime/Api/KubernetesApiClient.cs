using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// Raw HTTP access to the API server through the <see cref="Kubernetes"/> client's own HttpClient and
/// credentials (token refresh and client certificates keep working). The generated client cannot resume
/// a watch from a resourceVersion, cannot ask for metadata-only lists and does not expose 429 Retry-After,
/// so the informer, finalizers and conflict retries speak HTTP through this class instead.
/// </summary>
public sealed class KubernetesApiClient
{
    public const string MergePatchContentType = "application/merge-patch+json";

    /// <summary>Upper bound for ordinary (non-watch) requests, so a dead connection cannot stall a reconcile.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly Kubernetes client;

    public KubernetesApiClient(Kubernetes client)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
    }

    /// <summary>The generated, typed client over the same connection.</summary>
    public IKubernetes Typed => client;

    /// <summary>
    /// Sends a request to <paramref name="relativeUri"/> (relative to the server, without a leading slash).
    /// Streaming callers get the response as soon as headers arrive and own its disposal.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method,
        string relativeUri,
        HttpContent? content,
        string? accept,
        bool streaming,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(client.BaseUri, relativeUri)) { Content = content };
        request.Options.Set(BufferedResponses.Streaming, streaming);
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        if (client.Credentials is not null)
        {
            await client.Credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var completion = streaming ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead;
        return await client.HttpClient.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
    }

    public async Task<T> GetAsync<T>(string relativeUri, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var response = await SendAsync(HttpMethod.Get, relativeUri, null, "application/json", false, timeout.Token).ConfigureAwait(false);
        return await ReadAsync<T>(response, timeout.Token).ConfigureAwait(false);
    }

    public async Task<T> PatchAsync<T>(string relativeUri, JsonNode patch, CancellationToken cancellationToken, string contentType = MergePatchContentType)
    {
        ArgumentNullException.ThrowIfNull(patch);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var content = new StringContent(patch.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await SendAsync(HttpMethod.Patch, relativeUri, content, "application/json", false, timeout.Token).ConfigureAwait(false);
        return await ReadAsync<T>(response, timeout.Token).ConfigureAwait(false);
    }

    public async Task<T> PostAsync<T>(string relativeUri, object body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var content = new StringContent(KubernetesJson.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await SendAsync(HttpMethod.Post, relativeUri, content, "application/json", false, timeout.Token).ConfigureAwait(false);
        return await ReadAsync<T>(response, timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Throws <see cref="KubernetesApiException"/> for any non-success status.</summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var status = TryParseStatus(body);
        throw new KubernetesApiException(
            response.StatusCode,
            status,
            RetryAfterOf(response, status),
            $"{(int)response.StatusCode} {status?.Reason ?? response.ReasonPhrase}: {status?.Message ?? "no status in the response"}");
    }

    internal static V1Status? TryParseStatus(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return KubernetesJson.Deserialize<V1Status>(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    internal static TimeSpan? RetryAfterOf(HttpResponseMessage response, V1Status? status)
    {
        if (response.Headers.RetryAfter?.Delta is { } delta)
        {
            return delta;
        }

        if (response.Headers.TryGetValues("Retry-After", out var values)
            && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return status?.Details?.RetryAfterSeconds is int fromStatus and > 0 ? TimeSpan.FromSeconds(fromStatus) : null;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return KubernetesJson.Deserialize<T>(stream)
                ?? throw new KubernetesApiException(HttpStatusCode.OK, null, null, "The API server answered with an empty body.");
        }
    }
}
