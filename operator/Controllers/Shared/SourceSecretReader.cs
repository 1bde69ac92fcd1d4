using System.Net;
using k8s;
using k8s.Autorest;
using Passbox.Operator.Api.V1Alpha1;

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
/// Reads the user's source Secrets on demand. They are not cached: the operator watches Secrets as metadata only and
/// fetches a value when it reconciles, so memory does not grow with the Secrets in the cluster.
/// </summary>
public sealed class SourceSecretReader(IKubernetes client)
{
    public async Task<SourceValue> ReadAsync(string namespaceName, SecretKeyReference reference, CancellationToken ct)
    {
        k8s.Models.V1Secret secret;
        try
        {
            secret = await client.CoreV1.ReadNamespacedSecretAsync(reference.Name, namespaceName, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return SourceValue.Missing(reference, $"Secret {namespaceName}/{reference.Name} does not exist; create it with key \"{reference.Key}\"");
        }

        if (secret.Data is null || !secret.Data.TryGetValue(reference.Key, out var value) || value is null || value.Length == 0)
        {
            var keys = secret.Data is null || secret.Data.Count == 0 ? "none" : string.Join(", ", secret.Data.Keys.Order(StringComparer.Ordinal));
            return SourceValue.Missing(reference, $"Secret {namespaceName}/{reference.Name} has no non-empty key \"{reference.Key}\" (keys: {keys})");
        }

        return SourceValue.Present(reference, value, $"{secret.Metadata.Uid}:{secret.Metadata.ResourceVersion}");
    }
}
