using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The one request an informer sends, for a list page or a watch: a streamed GET of its resource's collection (read as
/// it arrives, never buffered whole), asking for PartialObjectMetadata when the informer keeps metadata only. Built in
/// one place so that the list and the watch cannot drift apart in how they ask: the same path, the same streamed read,
/// the same choice of form, and a refusal turned into the same exception.
/// </summary>
internal sealed class CollectionRequests<T>(KubernetesApiClient api, ResourceDescriptor resource, InformerOptions<T> options)
    where T : class
{
    private const string Json = "application/json";
    private const string MetadataListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    private const string MetadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

    /// <summary>Asks for one page of a list of <paramref name="namespace"/> (null: all namespaces).</summary>
    public Task<HttpResponseMessage> ListAsync(string? @namespace, string query, CancellationToken cancellationToken) =>
        SendAsync(@namespace, query, options.MetadataOnly ? MetadataListAccept : Json, cancellationToken);

    /// <summary>Opens a watch of the informer's namespace (all, when it has none).</summary>
    public Task<HttpResponseMessage> WatchAsync(string query, CancellationToken cancellationToken) =>
        SendAsync(options.Namespace, query, options.MetadataOnly ? MetadataAccept : Json, cancellationToken);

    /// <summary>
    /// The response as soon as its headers say it succeeded; the caller owns it and disposes it. Any other status throws
    /// <see cref="KubernetesApiException"/>, the response disposed first so a refused request holds no connection.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(string? @namespace, string query, string accept, CancellationToken cancellationToken)
    {
        var response = await api.SendAsync(
            HttpMethod.Get,
            resource.CollectionPath(@namespace) + query,
            null,
            accept,
            streaming: true,
            cancellationToken).ConfigureAwait(false);
        try
        {
            await KubernetesApiClient.EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
