using System.Security.Cryptography;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Generates passwords every supported server accepts: 12 to 64 characters (Milvus stores up to 72 safely, bcrypt's
/// limit; Zilliz Cloud wants at least 8), with at least one upper-case letter, lower-case letter and digit, and one
/// symbol unless symbols are off (two of each from <see cref="TwoOfEachFrom"/> characters). Symbols are only <see cref="Symbols"/>: none of them needs quoting in a
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

    /// <summary>The length from which every class appears at least twice (the default length is above it).</summary>
    public const int TwoOfEachFrom = 16;

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
        // A password of at least TwoOfEachFrom characters has two of each class: hardened server policies ask for two
        // (MySQL validate_password.number_count / special_char_count / mixed_case_count, MariaDB simple_password_check_*),
        // and one drawn by chance misses them often (a 24-character password has no second symbol about one time in ten),
        // which the server refuses with error 1819 until the password is replaced.
        var guaranteed = classes.Length * (length >= TwoOfEachFrom ? 2 : 1);
        for (var i = 0; i < length; i++)
        {
            // The guaranteed ones first, the rest from all classes; the shuffle below hides where the first ones went.
            var pool = i < guaranteed ? classes[i % classes.Length] : all;
            chars[i] = pool[RandomNumberGenerator.GetInt32(pool.Length)];
        }

        RandomNumberGenerator.Shuffle(chars.AsSpan());
        // Starting with a letter keeps the password from looking like an option or a number to tools that guess.
        var firstLetter = Array.FindIndex(chars, char.IsLetter);
        (chars[0], chars[firstLetter]) = (chars[firstLetter], chars[0]);
        return new string(chars);
    }
}
