using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using ConnectorTls = Passbox.Operator.Connectors.TlsSettings;
using ConnectorTlsMode = Passbox.Operator.Connectors.TlsMode;

namespace Passbox.Operator.Controllers.ClusterCredentials;

/// <summary>ClusterCredential's part of the shared flow: log in to the database, publish its connection Secret.</summary>
public sealed class ClusterCredentialKind(DatabaseConnectors connectors, ICredentialProvisioning<ClusterCredential>? provisioning = null)
    : ICredentialKind<ClusterCredential>
{
    public string KindName => ClusterCredential.KindName;

    public ICredentialProvisioning<ClusterCredential>? Provisioning => provisioning;

    public IReadOnlyList<SourceReference> SourceReferences(ClusterCredential credential)
    {
        // The effective spec: a provisioned user without passwordSecretRef reads the password the operator generated.
        var spec = EffectiveClusterSpec.From(credential);
        var password = credential.Spec.PasswordSecretRef is null
            ? "spec.provisioning (the generated password, as spec.passwordSecretRef is not set)"
            : "spec.passwordSecretRef";
        return new[] { (spec.PasswordSecretRef, password), (spec.ApiKeySecretRef, "spec.apiKeySecretRef"), (spec.CaSecretRef, "spec.endpoint.tls.caSecretRef") }
            .Where(source => source.Item1 is not null)
            .Select(source => new SourceReference(source.Item1!, source.Item2))
            .ToList();
    }

    public string SecretName(ClusterCredential credential) => credential.Spec.Secret?.Name ?? credential.Metadata.Name;

    /// <summary>The login, plus what the operator does to a provisioned user (a changed grant is applied at once).</summary>
    public string LoginRelevantSpec(ClusterCredential credential) =>
        EffectiveClusterSpec.From(credential).LoginRelevantJson()
        + (credential.Spec.Provisioning is { } provisioning ? "\n" + k8s.KubernetesJson.Serialize(provisioning) : string.Empty);

    public CheckSchedule Schedule(ClusterCredential credential)
    {
        var spec = EffectiveClusterSpec.From(credential);
        return new CheckSchedule(spec.Interval, spec.Timeout, spec.ValidationDisabled ? "spec.validation.disabled is true" : null);
    }

    /// <summary>
    /// The credential's login, made as one with identical logins of other credentials (see <see cref="SharedLogins"/>), so a
    /// source Secret shared by many that changes to a wrong password is refused a few times, not once per credential. A
    /// managed user's login is always its own: the administrator may have set its password just before.
    /// </summary>
    public async Task<ValidationOutcome> ValidateAsync(ClusterCredential credential, SourceValues sources, CancellationToken ct)
    {
        var engine = MapEngine(credential.Spec.Engine);
        var login = Login(credential, sources);
        var outcome = credential.Spec.Provisioning is null
            ? await connectors.Shared.ValidateAsync(engine, login, $"{credential.Metadata.NamespaceProperty}/{credential.Metadata.Name}", ct)
            : await connectors.Shared.ValidateAloneAsync(engine, login, ct);
        return RefusedLoginHint.Add(outcome, credential);
    }

    /// <summary>The login the credential describes, with the values read from its Secrets.</summary>
    public static DatabaseLogin Login(ClusterCredential credential, SourceValues sources)
    {
        var spec = EffectiveClusterSpec.From(credential);
        return new DatabaseLogin
        {
            Host = spec.Host,
            Port = spec.Port,
            LoginName = spec.LoginName ?? "",
            Password = sources.Text(spec.PasswordSecretRef),
            ApiKey = sources.Text(spec.ApiKeySecretRef),
            Database = spec.Database,
            Tls = new ConnectorTls(MapTls(spec.TlsMode), sources.Text(spec.CaSecretRef)),
            Timeout = spec.Timeout,
        };
    }

    /// <summary>
    /// A managed user whose <c>provisioning.adminCredentialRef</c> names no ClusterCredential (a misspelled name, an admin
    /// never applied): <c>AdminNotReady</c>, retried with backoff like an admin that is not Ready yet, but nothing comes
    /// of waiting until someone creates it (the Argo CD health script tells the two apart by the same words).
    /// </summary>
    public bool WaitsForMissingObject(ClusterCredential credential, string reason, string message) =>
        reason == ValidationReasons.AdminNotReady
        && credential.Spec.Provisioning is { } managed
        && message.Contains(Operator.Provisioning.AdminLogins.Missing(managed.AdminCredentialRef.Name, credential.Metadata.NamespaceProperty), StringComparison.Ordinal);

    public SecretPayload BuildSecret(ClusterCredential credential, SourceValues sources)
    {
        var spec = EffectiveClusterSpec.From(credential);
        return ClusterSecretBuilder.Build(credential, spec, sources.Text(spec.PasswordSecretRef), sources.Text(spec.ApiKeySecretRef));
    }

    public void Describe(ClusterCredential credential, CredentialStatus status)
    {
        var spec = EffectiveClusterSpec.From(credential);
        var clusterStatus = (ClusterCredentialStatus)status;
        clusterStatus.Login = spec.LoginName ?? "(API key)";
        clusterStatus.Endpoint = spec.Endpoint;
    }

    public static DatabaseEngine MapEngine(ClusterEngine engine) => engine switch
    {
        ClusterEngine.OceanBase => DatabaseEngine.OceanBase,
        ClusterEngine.MySQL => DatabaseEngine.MySQL,
        _ => DatabaseEngine.Milvus,
    };

    public static ConnectorTlsMode MapTls(Api.V1Alpha1.TlsMode mode) => mode switch
    {
        Api.V1Alpha1.TlsMode.Disabled => ConnectorTlsMode.Disabled,
        Api.V1Alpha1.TlsMode.Required => ConnectorTlsMode.Required,
        Api.V1Alpha1.TlsMode.VerifyCA => ConnectorTlsMode.VerifyCA,
        Api.V1Alpha1.TlsMode.VerifyFull => ConnectorTlsMode.VerifyFull,
        _ => ConnectorTlsMode.Preferred,
    };
}
