using System.Globalization;
using System.Text.RegularExpressions;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>Parses the Go-style durations the CRDs accept (<c>90s</c>, <c>10m</c>, <c>1h30m</c>, <c>0</c>).</summary>
public static partial class GoDuration
{
    /// <summary>
    /// Ten years: longer durations are read as this. The schema caps intervals and rotation periods below it; an object
    /// stored before those rules must still plan its next check without overflowing a TimeSpan or a date.
    /// </summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(3650);

    public static TimeSpan Parse(string? text, TimeSpan fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (text == "0")
        {
            return TimeSpan.Zero;
        }

        var matches = Part().Matches(text);
        if (matches.Count == 0 || matches.Sum(m => m.Length) != text.Length)
        {
            // The schema's pattern rejects these; an old object stored before a schema change falls back safely.
            return fallback;
        }

        var seconds = 0.0;
        foreach (Match match in matches)
        {
            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            seconds += value * match.Groups[2].Value switch
            {
                "ms" => 0.001,
                "s" => 1,
                "m" => 60,
                _ => 3600,
            };
        }

        return seconds >= Longest.TotalSeconds ? Longest : TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));
    }

    /// <summary>The same notation back, to the second, for messages that quote a configured duration: <c>10m</c>, <c>1h30m</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        var seconds = (long)Math.Round(duration.TotalSeconds);
        if (seconds <= 0)
        {
            return "0s";
        }

        var text = new System.Text.StringBuilder();
        foreach (var (unit, size) in new[] { ("h", 3600L), ("m", 60L), ("s", 1L) })
        {
            if (seconds >= size)
            {
                text.Append((seconds / size).ToString(CultureInfo.InvariantCulture)).Append(unit);
                seconds %= size;
            }
        }

        return text.ToString();
    }

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
