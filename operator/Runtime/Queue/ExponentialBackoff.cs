namespace Passbox.Operator.Runtime.Queue;

/// <summary>
/// Delay after the n-th consecutive failure: <c>initial * 2^(n-1)</c>, capped, then shortened by up to
/// <see cref="JitterFraction"/> so that keys (or reconnecting watches) that failed together do not retry
/// together. Jitter only shortens, so the cap is a true upper bound and each step stays above the last.
/// </summary>
public sealed class ExponentialBackoff
{
    private readonly Func<double> random;

    public ExponentialBackoff(TimeSpan initial, TimeSpan cap, double jitterFraction = 0.2, Func<double>? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, initial);
        ArgumentOutOfRangeException.ThrowIfNegative(jitterFraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(jitterFraction, 0.5);
        Initial = initial;
        Cap = cap;
        JitterFraction = jitterFraction;
        this.random = random ?? Random.Shared.NextDouble;
    }

    public TimeSpan Initial { get; }

    public TimeSpan Cap { get; }

    public double JitterFraction { get; }

    /// <summary>The delay before retry number <paramref name="failures"/> (1 for the first failure).</summary>
    public TimeSpan DelayFor(int failures)
    {
        var exponent = Math.Clamp(failures - 1, 0, 62);
        var raw = Initial.TotalMilliseconds * Math.Pow(2, exponent);
        var capped = Math.Min(raw, Cap.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - (JitterFraction * random())));
    }
}
