using System.Text.Json;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Hosting;
using OceanBaseLogin = Passbox.Operator.Connectors.OceanBaseLogin;

namespace Passbox.Operator.Controllers.ClusterCredentials;

/// <summary>
/// A ClusterCredential's spec with the operator's defaults filled in. Defaults live here, not in the CRD schema, so
/// GitOps tools do not see fields the user never wrote (the External Secrets Operator's permanent OutOfSync).
/// A provisioned user without passwordSecretRef reads the password the operator generated.
/// </summary>
public sealed record EffectiveClusterSpec(
    ClusterEngine Engine,
    string Host,
    int Port,
    TlsMode TlsMode,
    SecretKeyReference? CaSecretRef,
    string? Username,
    string? LoginName,
    string? Tenant,
    string? Cluster,
    string? Database,
    SecretKeyReference? PasswordSecretRef,
    SecretKeyReference? ApiKeySecretRef,
    TimeSpan Interval,
    TimeSpan Timeout,
    bool ValidationDisabled,
    string SecretName)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public static EffectiveClusterSpec From(ClusterCredential credential)
    {
        var spec = credential.Spec;
        var tenant = spec.Engine == ClusterEngine.OceanBase ? spec.OceanBase?.Tenant : null;
        var cluster = spec.Engine == ClusterEngine.OceanBase ? spec.OceanBase?.Cluster : null;
        return new EffectiveClusterSpec(
            spec.Engine,
            spec.Endpoint.Host,
            spec.Endpoint.Port ?? DefaultPort(spec.Engine),
            spec.Endpoint.Tls?.Mode ?? TlsMode.Preferred,
            spec.Endpoint.Tls?.CaSecretRef,
            spec.Username,
            spec.Username is null ? null : FormatLogin(spec.Engine, spec.Username, tenant, cluster),
            tenant,
            cluster,
            spec.Engine == ClusterEngine.Milvus ? spec.Milvus?.Database ?? "default" : null,
            spec.PasswordSecretRef ?? (spec.Provisioning is not null && spec.ApiKeySecretRef is null
                ? Provisioning.GeneratedPasswordStore.Reference(credential.Metadata.Name)
                : null),
            spec.ApiKeySecretRef,
            ValidationPlanner.ParseInterval(spec.Validation?.Interval, DefaultInterval),
            GoDuration.Parse(spec.Validation?.Timeout, DefaultTimeout),
            spec.Validation?.Disabled ?? false,
            spec.Secret?.Name ?? credential.Metadata.Name);
    }

    public static int DefaultPort(ClusterEngine engine) => engine switch
    {
        ClusterEngine.OceanBase => 2883,
        ClusterEngine.MySQL => 3306,
        _ => 19530,
    };

    /// <summary>OBProxy wants <c>user@tenant#cluster</c>; an OBServer reached directly wants <c>user@tenant</c>.</summary>
    public static string FormatLogin(ClusterEngine engine, string username, string? tenant, string? cluster) =>
        engine != ClusterEngine.OceanBase || string.IsNullOrEmpty(tenant) ? username : OceanBaseLogin.Format(username, tenant, cluster);

    /// <summary>The part of the spec a login depends on; description and Secret shape are left out on purpose.</summary>
    public string LoginRelevantJson() => JsonSerializer.Serialize(
        new LoginRelevantClusterSpec(
            Engine.ToString(),
            Host,
            Port,
            TlsMode.ToString(),
            CaSecretRef?.ToString(),
            LoginName,
            Database,
            PasswordSecretRef?.ToString(),
            ApiKeySecretRef?.ToString(),
            ValidationDisabled),
        PlainJsonContext.Default.LoginRelevantClusterSpec);

    public string Endpoint => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>
/// What <see cref="EffectiveClusterSpec.LoginRelevantJson"/> serializes. Its JSON feeds a stored fingerprint, so the
/// member names and their order must not change (a new fingerprint re-checks every credential once).
/// </summary>
internal sealed record LoginRelevantClusterSpec(
    string Engine,
    string Host,
    int Port,
    string Tls,
    string? Ca,
    string? LoginName,
    string? Database,
    string? Password,
    string? ApiKey,
    bool ValidationDisabled);
