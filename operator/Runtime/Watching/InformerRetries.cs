using System.Net;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Queue;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// How an informer waits and what it says after a failed list or watch. The list/watch loop and the namespace fills
/// retry alike, so a refusal reads the same (in a condition and in the log) whichever of them met it.
/// </summary>
internal sealed class InformerRetries(ResourceDescriptor resource, TimeSpan initial, TimeSpan cap, TimeProvider time, ILogger logger)
{
    /// <summary>What a 401 means for the operator's own requests.</summary>
    private const string CredentialsRefused =
        "the API server did not accept the operator's credentials (its ServiceAccount token expired or was revoked, or the kubeconfig is for another cluster); " +
        "no role grant mends this: give it valid credentials (a restarted pod mounts a fresh ServiceAccount token)";

    private readonly ExponentialBackoff backoff = new(initial, cap);

    /// <summary>The jittered delay before retry number <paramref name="failures"/> (1 for the first failure).</summary>
    public TimeSpan DelayFor(int failures) => backoff.DelayFor(failures);

    public async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping; the loop condition ends the informer.
        }
    }

    /// <summary>Why a list failed, for a condition: status code and reason only, as the server's message may quote objects.</summary>
    public string ListProblem(Exception e) => Problem("listing", e);

    /// <summary>Why a watch failed, told as <see cref="ListProblem"/> tells a list's failure.</summary>
    public string WatchProblem(Exception e) => Problem("watching", e);

    private string Problem(string doing, Exception e) => e switch
    {
        // 401 is the operator's credentials, not its role: the server's "Unauthorized" alone read like a missing permission.
        KubernetesApiException { StatusCode: HttpStatusCode.Unauthorized } =>
            $"{doing} {resource.DisplayName} was refused: 401 Unauthorized: {CredentialsRefused}",
        // The server's own words name the user, the verb and the resource: what a role is missing.
        KubernetesApiException { IsAccessDenied: true } api =>
            $"{doing} {resource.DisplayName} was refused: {(int)api.StatusCode} {api.Status?.Reason}: {api.Status?.Message}",
        KubernetesApiException api => $"{doing} {resource.DisplayName} failed: {(int)api.StatusCode} {(api.Status?.Reason is { Length: > 0 } reason ? reason : api.StatusCode)}",
        // Refused connection, DNS, TLS: the type alone (HttpRequestException) did not say which.
        _ when UnansweredRequest.Describe(e) is { } cause => $"{doing} {resource.DisplayName} failed: {cause}",
        _ => $"{doing} {resource.DisplayName} failed: {e.GetType().Name}",
    };

    /// <summary>
    /// A refusal (401, 403) is a missing role or a revoked token, not a fault of the operator: one line that says what
    /// to grant, without a stack trace on every retry. So is an API server that was not reached (restarting, a network
    /// problem), which every informer meets at once, and an answer the server gave (a 404 while it loads the CRDs, a 500):
    /// their cause is all there is to tell. Anything else keeps its exception for diagnosis.
    /// </summary>
    public void LogFailure(Exception e, string operation, string? @namespace, int attempt, TimeSpan delay)
    {
        var where = @namespace is null ? string.Empty : $" of namespace {@namespace}";
        if (e is KubernetesApiException { StatusCode: HttpStatusCode.Unauthorized })
        {
            // Not a role: no grant mends it, and telling to check the role sent people to the wrong place.
            logger.LogWarning(
                "{Operation} of {Resource}{Where} was refused by the API server (401 Unauthorized): {Refused} (attempt {Attempt}; retrying in {Delay})",
                operation, resource.DisplayName, where, CredentialsRefused, attempt, LogDuration.Format(delay));
            return;
        }

        if (e is KubernetesApiException { IsAccessDenied: true } refused)
        {
            logger.LogWarning(
                "{Operation} of {Resource}{Where} was refused by the API server ({Code} {Reason}: {ServerMessage}); the operator's role must allow " +
                "get, list and watch on it, as the chart and config/rbac grant (attempt {Attempt}; retrying in {Delay})",
                operation, resource.DisplayName, where, (int)refused.StatusCode, refused.Status?.Reason, refused.Status?.Message, attempt, LogDuration.Format(delay));
            return;
        }

        if ((e is KubernetesApiException ? e.Message : UnansweredRequest.Describe(e)) is { } cause)
        {
            logger.LogWarning("{Operation} of {Resource}{Where} failed: {Cause} (attempt {Attempt}; retrying in {Delay})",
                operation, resource.DisplayName, where, cause, attempt, LogDuration.Format(delay));
            return;
        }

        logger.LogWarning(e, "{Operation} of {Resource}{Where} failed (attempt {Attempt}); retrying in {Delay}", operation, resource.DisplayName, where, attempt, LogDuration.Format(delay));
    }
}
