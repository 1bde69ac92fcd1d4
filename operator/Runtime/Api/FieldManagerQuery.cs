namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// Names the operator as the field manager of every write it sends to the API server. Without a <c>fieldManager</c>
/// parameter the API server records a write under the client's User-Agent, KubernetesClient's <c>kubernetes-csharp</c>:
/// the name users then read in <c>kubectl get -o yaml --show-managed-fields</c> and in the conflict messages of their
/// own server-side applies, where it says nothing about who wrote the status, the finalizer, the Secret or the event.
/// One handler under the client, so that a write added later is named too; a request that names its manager (the
/// generated Secret's server-side apply) keeps it, and reads, deletes and watches go as they are.
/// </summary>
/// <param name="manager">The name to record; <see cref="Name"/> for the operator's own client.</param>
public sealed class FieldManagerQuery(string manager = FieldManagerQuery.Name) : DelegatingHandler
{
    /// <summary>
    /// The operator's field manager. The name its generated Secrets' server-side apply has always used: a new one would
    /// leave their managedFields owned by the old name, which would keep every key and label Passbox stops writing.
    /// </summary>
    public const string Name = "passbox";

    private const string Parameter = "fieldManager";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsWrite(request.Method) && request.RequestUri is { } uri && !NamesManager(uri))
        {
            request.RequestUri = WithManager(uri, manager);
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>The verbs whose requests take a field manager: create, update and patch.</summary>
    internal static bool IsWrite(HttpMethod method) => method == HttpMethod.Post || method == HttpMethod.Put || method == HttpMethod.Patch;

    internal static bool NamesManager(Uri uri) =>
        uri.Query.TrimStart('?').Split('&').Any(parameter =>
            parameter.Split('=', 2)[0].Equals(Parameter, StringComparison.Ordinal));

    internal static Uri WithManager(Uri uri, string manager)
    {
        var query = uri.Query.TrimStart('?');
        var parameter = $"{Parameter}={Uri.EscapeDataString(manager)}";
        return new UriBuilder(uri) { Query = query.Length == 0 ? parameter : $"{query}&{parameter}" }.Uri;
    }
}
