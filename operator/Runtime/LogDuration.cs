using System.Globalization;

namespace Passbox.Operator.Runtime;

/// <summary>
/// Delays and durations as log lines show them: <c>0.47s</c>, <c>12.5s</c>, <c>2m5s</c>, <c>1h0m0s</c>. A TimeSpan
/// logged as it is prints <c>00:00:00.4678567</c>, which someone reading a retry line at night has to decode, and the
/// JSON formatter writes that same text into the entry.
/// </summary>
public static class LogDuration
{
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        if (duration < TimeSpan.FromMilliseconds(10))
        {
            // A millisecond shows: the work queue's first backoff is 5 ms.
            return duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        }

        if (duration < TimeSpan.FromMinutes(1))
        {
            return duration.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture) + "s";
        }

        var seconds = (long)Math.Round(duration.TotalSeconds);
        var (hours, minutes, rest) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours}h{minutes}m{rest}s")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes}m{rest}s");
    }
}
