using System.Net;
using System.Text.Unicode;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Runtime;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>One value read from a user's source Secret. <see cref="ToString"/> never shows the value.</summary>
public sealed class SourceValue
{
    private SourceValue(SecretKeyReference reference, byte[]? value, string? version, string? problem)
    {
        Reference = reference;
        Bytes = value;
        Version = version;
        Problem = problem;
    }

    public SecretKeyReference Reference { get; }

    public byte[]? Bytes { get; }

    /// <summary><c>uid:resourceVersion</c> of the Secret: changes whenever the Secret does, reveals nothing of it.</summary>
    public string? Version { get; }

    /// <summary>Why the value is missing, in words a user can act on; null when present.</summary>
    public string? Problem { get; }

    public bool Found => Problem is null;

    public string Text => System.Text.Encoding.UTF8.GetString(Bytes ?? []);

    public static SourceValue Present(SecretKeyReference reference, byte[] value, string version) => new(reference, value, version, null);

    public static SourceValue Missing(SecretKeyReference reference, string problem) => new(reference, null, null, problem);

    public override string ToString() => Found ? $"{Reference} (present)" : $"{Reference} (missing)";
}

/// <summary>
/// Reads the user's source Secrets when a credential reconciles. The Secret is fetched from the API server unless
/// <see cref="SourceSecretCache"/> holds a copy at the resourceVersion the source-Secret informer last saw (see there why
/// that is no staler than any cache-reading controller); either way the value's <see cref="SourceValue.Version"/> is the
/// Secret's <c>uid:resourceVersion</c>. A missing Secret is never remembered: it is asked for again on the next read.
/// </summary>
public sealed class SourceSecretReader(IKubernetes client, SourceSecretCache cache)
{
    /// <param name="namespaceName">The credential's namespace.</param>
    /// <param name="reference">The Secret key to read.</param>
    /// <param name="ct">Cancels the read.</param>
    /// <param name="field">The spec field(s) naming the reference, which a missing value's message names (a credential can have several).</param>
    public async Task<SourceValue> ReadAsync(string namespaceName, SecretKeyReference reference, CancellationToken ct, string? field = null)
    {
        var key = new ObjectKey(namespaceName, reference.Name);
        var secret = cache.Find(key) ?? await FetchAsync(key, ct);
        var named = field is null ? $"Secret {namespaceName}/{reference.Name}" : $"Secret {namespaceName}/{reference.Name} (named by {field})";
        if (secret is null)
        {
            return SourceValue.Missing(reference, $"{named} does not exist; create it with key \"{reference.Key}\"");
        }

        if (!secret.Data.TryGetValue(reference.Key, out var value) || value is null || value.Length == 0)
        {
            var keys = secret.Data.Count == 0 ? "none" : NameList.Join(secret.Data.Keys.Order(StringComparer.Ordinal));
            return SourceValue.Missing(reference, $"{named} has no non-empty key \"{reference.Key}\" (keys: {keys})");
        }

        if (!Utf8.IsValid(value))
        {
            // Read as text, its invalid bytes would become U+FFFD: a password or token that silently differs from the
            // Secret's (a refused login that the user cannot explain, or a published Secret with other bytes).
            return SourceValue.Missing(reference,
                $"{named} key \"{reference.Key}\" is not UTF-8 text; store the value UTF-8 encoded " +
                "(a password or token in another character set re-encoded, a DER certificate as PEM)");
        }

        return SourceValue.Present(reference, value, secret.Version);
    }

    private async Task<SecretSnapshot?> FetchAsync(ObjectKey key, CancellationToken ct)
    {
        var ticket = cache.BeginRead(key);
        V1Secret? secret = null;
        try
        {
            secret = await client.CoreV1.ReadNamespacedSecretAsync(key.Name, key.Namespace, cancellationToken: ct);
            return SecretSnapshot.Of(secret);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        finally
        {
            cache.EndRead(ticket, secret);
        }
    }
}
