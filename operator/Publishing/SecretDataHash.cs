using System.Security.Cryptography;
using System.Text;

namespace Passbox.Operator.Publishing;

/// <summary>
/// A stable hash of a Secret's data. It is kept in an annotation on the generated Secret and in the operator's cache
/// instead of the data itself, so hand edits are noticed without holding every Secret's content in memory.
/// </summary>
public static class SecretDataHash
{
    public static string Compute(IReadOnlyDictionary<string, byte[]>? data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[4];
        foreach (var key in (data?.Keys ?? []).Order(StringComparer.Ordinal))
        {
            var value = data![key] ?? [];
            // Length-prefix both parts so that ("ab","c") and ("a","bc") cannot collide.
            var keyBytes = Encoding.UTF8.GetBytes(key);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, keyBytes.Length);
            hash.AppendData(length);
            hash.AppendData(keyBytes);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
            hash.AppendData(length);
            hash.AppendData(value);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Key for <see cref="PerKey"/>: new in every process, as its digests are never written anywhere.</summary>
    private static readonly byte[] DigestKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// A compact digest of each key's value, <c>key=hash;key=hash</c> in ordinal key order (Secret keys hold neither
    /// <c>=</c> nor <c>;</c>), each hash the first 8 bytes of an HMAC-SHA256 under a key of this process. It lets the
    /// cache tell which keys of a Secret still hold what Passbox wrote, so keys added by others can be told apart from
    /// Passbox's own; memory only, and keyed so a value cannot be guessed from it by hashing candidates.
    /// </summary>
    public static string PerKey(IReadOnlyDictionary<string, byte[]>? data)
    {
        if (data is null || data.Count == 0)
        {
            return "";
        }

        var text = new StringBuilder();
        Span<byte> mac = stackalloc byte[32];
        foreach (var key in data.Keys.Order(StringComparer.Ordinal))
        {
            HMACSHA256.HashData(DigestKey, data[key] ?? [], mac);
            text.Append(text.Length == 0 ? "" : ";").Append(key).Append('=').Append(Convert.ToHexStringLower(mac[..8]));
        }

        return text.ToString();
    }

    /// <summary>True when every <c>key=hash</c> entry of <paramref name="wanted"/> is one of <paramref name="actual"/>.</summary>
    public static bool ContainsEvery(string actual, string wanted)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(wanted);
        var entries = actual.Split(';', StringSplitOptions.RemoveEmptyEntries);
        return wanted.Split(';', StringSplitOptions.RemoveEmptyEntries).All(entry => entries.Contains(entry, StringComparer.Ordinal));
    }
}
