using System.Net;

namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// Sends a request again after the pause the API server asked for when it answered 429 Too Many Requests, as client-go's
/// REST client does for every verb. API Priority and Fairness answers 429 (Retry-After: 1) before it handles a request,
/// so nothing was done and a repeat is safe. Without this, a throttled status patch or Secret write failed the whole
/// reconcile: an error with a stack trace per credential, retried on the work queue's backoff, which knows nothing of
/// Retry-After. Each pause is lengthened by up to a fifth at random, so that requests
/// throttled together do not come back together. Answers read as streams (the informer's lists and watches) pass
/// untouched: the informer's own loop pauses on them and reports them. A pause longer than <see cref="LongestPause"/>,
/// or a 429 after <see cref="MaxRetries"/> repeats, is handed to the caller, whose backoff is made for long waits.
/// </summary>
public sealed class ThrottledRetries(TimeProvider time, Func<double>? random = null) : DelegatingHandler
{
    /// <summary>Repeats of one request after 429 answers; client-go allows ten, but a reconcile's worker waits meanwhile.</summary>
    public const int MaxRetries = 5;

    /// <summary>The pause when the server names none (APF names one second).</summary>
    public static readonly TimeSpan DefaultPause = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause waited here; a longer one is the caller's to wait (a lease renewal must not sit past its deadline).</summary>
    public static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(5);

    private const double JitterFraction = 0.2;

    private readonly Func<double> random = random ?? Random.Shared.NextDouble;

    public ThrottledRetries()
        : this(TimeProvider.System)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is not null)
        {
            // Sent again as it was: the body is kept in memory (the client's bodies are small JSON documents).
            await request.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }

        for (var retry = 1; ; retry++)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.TooManyRequests || retry > MaxRetries || BufferedResponses.IsStream(request)
                || PauseFor(response) is not { } pause)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(pause * (1 + (JitterFraction * random())), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>What the server asked for (its Retry-After header), or the default; null when longer than this handler waits.</summary>
    private TimeSpan? PauseFor(HttpResponseMessage response)
    {
        var asked = response.Headers.RetryAfter?.Delta
            ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : (TimeSpan?)null);
        var pause = asked is { } given && given > TimeSpan.Zero ? given : DefaultPause;
        return pause <= LongestPause ? pause : null;
    }
}
