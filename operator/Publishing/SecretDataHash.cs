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
}
