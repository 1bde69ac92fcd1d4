using System.Globalization;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>Parses the Go-style durations the CRDs accept (<c>90s</c>, <c>10m</c>, <c>1h30m</c>, <c>0</c>).</summary>
public static class GoDuration
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

        // Read by hand, without a regular expression: every reconcile reads a credential's interval and timeout about
        // ten times (the effective spec is built for each question asked of it), and each Regex.Matches cost half a
        // kilobyte of match objects, some 10 KB per credential while thousands converge.
        var seconds = 0.0;
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            if (!TryReadPart(ref rest, out var part))
            {
                // The schema's pattern rejects these; an old object stored before a schema change falls back safely.
                return fallback;
            }

            seconds += part;
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

    /// <summary>
    /// One part, <c>[0-9]+(\.[0-9]+)?(ms|s|m|h)</c>, from the start of <paramref name="rest"/>, in seconds; the rest is
    /// what follows it. False when the text does not start with a whole part.
    /// </summary>
    private static bool TryReadPart(ref ReadOnlySpan<char> rest, out double seconds)
    {
        seconds = 0;
        var length = CountDigits(rest);
        if (length == 0)
        {
            return false;
        }

        if (length < rest.Length && rest[length] == '.')
        {
            var fraction = CountDigits(rest[(length + 1)..]);
            if (fraction == 0)
            {
                return false;
            }

            length += 1 + fraction;
        }

        var number = rest[..length];
        var unit = rest[length..];
        var (unitLength, size) = unit switch
        {
            ['m', 's', ..] => (2, 0.001),
            ['s', ..] => (1, 1.0),
            ['m', ..] => (1, 60.0),
            ['h', ..] => (1, 3600.0),
            _ => (0, 0.0),
        };
        if (unitLength == 0)
        {
            return false;
        }

        seconds = double.Parse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture) * size;
        rest = unit[unitLength..];
        return true;
    }

    private static int CountDigits(ReadOnlySpan<char> text)
    {
        var count = 0;
        while (count < text.Length && char.IsAsciiDigit(text[count]))
        {
            count++;
        }

        return count;
    }
}
