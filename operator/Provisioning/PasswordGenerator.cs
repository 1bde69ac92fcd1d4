using System.Security.Cryptography;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Generates passwords every supported server accepts: 12 to 64 characters (Milvus stores up to 72 safely, bcrypt's
/// limit; Zilliz Cloud wants at least 8), with at least one upper-case letter, lower-case letter and digit, and one
/// symbol unless symbols are off. Symbols are only <see cref="Symbols"/>: none of them needs quoting in a
/// <c>mysql://</c> URI's user info, a shell word in double quotes, YAML or a Milvus <c>user:password</c> token. Each is
/// an RFC 3986 unreserved or sub-delims character, the only ones URL parsers such as Go's net/url accept unescaped in
/// user info: an application that builds its DSN from the password key by hand must get a URL it can parse.
/// Every character comes from <see cref="RandomNumberGenerator"/>.
/// </summary>
public static class PasswordGenerator
{
    public const int DefaultLength = 24;
    public const int MinimumLength = 12;
    public const int MaximumLength = 64;

    public const string Upper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    public const string Lower = "abcdefghijkmnopqrstuvwxyz";
    public const string Digits = "23456789";
    public const string Symbols = "-_.~+=!";

    /// <summary>
    /// Whether <paramref name="password"/> is one <see cref="Generate"/> could have made with these settings: that length,
    /// and a symbol exactly when symbols are on (any character that is no ASCII letter or digit counts, so a password of
    /// an older symbol set still fits).
    /// </summary>
    public static bool Fits(string password, int length, bool symbols)
    {
        ArgumentNullException.ThrowIfNull(password);
        return password.Length == length && password.Any(c => !char.IsAsciiLetterOrDigit(c)) == symbols;
    }

    public static string Generate(int length = DefaultLength, bool symbols = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, MinimumLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaximumLength);
        string[] classes = symbols ? [Upper, Lower, Digits, Symbols] : [Upper, Lower, Digits];
        var all = string.Concat(classes);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            // One of each class first, the rest from all of them; the shuffle below hides where the first ones went.
            var pool = i < classes.Length ? classes[i] : all;
            chars[i] = pool[RandomNumberGenerator.GetInt32(pool.Length)];
        }

        RandomNumberGenerator.Shuffle(chars.AsSpan());
        // Starting with a letter keeps the password from looking like an option or a number to tools that guess.
        var firstLetter = Array.FindIndex(chars, char.IsLetter);
        (chars[0], chars[firstLetter]) = (chars[firstLetter], chars[0]);
        return new string(chars);
    }
}
