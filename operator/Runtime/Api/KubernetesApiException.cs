using System.Net;
using k8s.Models;

namespace Passbox.Operator.Runtime.Api;

/// <summary>A non-success answer of the API server, with the <see cref="V1Status"/> it sent when it sent one.</summary>
public sealed class KubernetesApiException : Exception
{
    public KubernetesApiException()
    {
    }

    public KubernetesApiException(string message)
        : base(message)
    {
    }

    public KubernetesApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public KubernetesApiException(HttpStatusCode statusCode, V1Status? status, TimeSpan? retryAfter, string message)
        : base(message)
    {
        StatusCode = statusCode;
        Status = status;
        RetryAfter = retryAfter;
    }

    public HttpStatusCode StatusCode { get; }

    public V1Status? Status { get; }

    /// <summary>From the Retry-After header or <c>details.retryAfterSeconds</c>, when the server asked for a pause.</summary>
    public TimeSpan? RetryAfter { get; }

    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;

    public bool IsConflict => StatusCode == HttpStatusCode.Conflict;

    /// <summary>410: the requested resourceVersion was compacted away (or a list continue token expired).</summary>
    public bool IsGone => StatusCode == HttpStatusCode.Gone;

    /// <summary>
    /// The requested resourceVersion is newer than any the server has (after an etcd restore, or a watch cache that is
    /// behind): a Status with cause ResourceVersionTooLarge, or, from servers before 1.19, a 504 Timeout whose message
    /// or causes say "Too large resource version". Like 410, only a fresh list mends it.
    /// </summary>
    public bool IsResourceVersionTooLarge =>
        Status?.Details?.Causes?.Any(cause => cause.Reason == "ResourceVersionTooLarge") == true
        || ((StatusCode == HttpStatusCode.GatewayTimeout || Status?.Reason == "Timeout")
            && (Status?.Details?.Causes?.Any(cause => cause.Message == TooLargeResourceVersion) == true
                || Status?.Message?.Contains(TooLargeResourceVersion, StringComparison.Ordinal) == true));

    private const string TooLargeResourceVersion = "Too large resource version";

    public bool IsTooManyRequests => StatusCode == HttpStatusCode.TooManyRequests;

    /// <summary>401 or 403: the credentials or the role, which no retry mends by itself.</summary>
    public bool IsAccessDenied => StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
}
