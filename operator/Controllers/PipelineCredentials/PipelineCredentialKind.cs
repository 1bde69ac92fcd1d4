using System.Text.Json;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Hosting;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>PipelineCredential's part of the shared flow: probe the git server, registry or cluster, shape the Secret.</summary>
public sealed class PipelineCredentialKind(PipelineProbes probes) : ICredentialKind<PipelineCredential>
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public string KindName => PipelineCredential.KindName;

    public IReadOnlyList<SourceReference> SourceReferences(PipelineCredential credential)
    {
        var spec = credential.Spec;
        return new[]
            {
                (spec.UsernamePassword?.PasswordSecretRef, "spec.usernamePassword.passwordSecretRef"),
                (spec.SecretText?.SecretRef, "spec.secretText.secretRef"),
                (spec.Kubeconfig?.SecretRef, "spec.kubeconfig.secretRef"),
                (spec.Tls?.CaSecretRef, "spec.tls.caSecretRef"),
            }
            .Where(source => source.Item1 is not null)
            .Select(source => new SourceReference(source.Item1!, source.Item2))
            .ToList();
    }

    /// <summary>
    /// A failed TLS handshake backs off like a network failure: the handshake comes before the probe sends any
    /// credential (the Authorization header, a token), so a quick retry counts against no account, and its cause is
    /// often brief (a certificate being renewed, a load balancer serving another during a rollout). Waiting the
    /// interval (an hour by default) would show a working server as failed all that time. A lasting one (a wrong CA, a
    /// plain-HTTP server) costs a handshake every 5 minutes at most; its fix, an edit or the CA's Secret, is tried at once.
    /// </summary>
    public bool BacksOff(string? reason) => ValidationPlanner.IsTransient(reason) || reason == ValidationReasons.TLSFailed;

    public string SecretName(PipelineCredential credential) => credential.Spec.Secret?.Name ?? credential.Metadata.Name;

    public string LoginRelevantSpec(PipelineCredential credential)
    {
        var spec = credential.Spec;
        return JsonSerializer.Serialize(
            new LoginRelevantPipelineSpec(
                spec.Type.ToString(),
                spec.Server,
                spec.UsernamePassword?.Username,
                SourceReferences(credential).Select(r => r.ToString()).ToList(),
                spec.Kubeconfig?.Context,
                Probe(spec).ToString()),
            PlainJsonContext.Default.LoginRelevantPipelineSpec);
    }

    public CheckSchedule Schedule(PipelineCredential credential)
    {
        var validation = credential.Spec.Validation;
        var disabledBy = Probe(credential.Spec) != PipelineProbe.None ? null
            : validation?.Probe is null ? $"spec.validation.probe is None, the default for type {credential.Spec.Type}"
            : "spec.validation.probe is None";
        return new CheckSchedule(
            ValidationPlanner.ParseInterval(validation?.Interval, DefaultInterval),
            GoDuration.Parse(validation?.Timeout, DefaultTimeout),
            disabledBy);
    }

    public Task<ValidationOutcome> ValidateAsync(PipelineCredential credential, SourceValues sources, CancellationToken ct)
    {
        var spec = credential.Spec;
        var inputs = Inputs(credential, sources);
        var request = new PipelineProbeRequest(
            spec.Server,
            inputs.Username,
            inputs.Password ?? inputs.Token,
            inputs.Kubeconfig,
            spec.Kubeconfig?.Context,
            Schedule(credential).Timeout,
            SecretSource(inputs.Password is not null ? spec.UsernamePassword?.PasswordSecretRef : spec.SecretText?.SecretRef),
            sources.Text(spec.Tls?.CaSecretRef),
            SecretSource(spec.Tls?.CaSecretRef));
        return probes.ProbeAsync(MapProbe(Probe(spec)), request, ct);
    }

    public SecretPayload BuildSecret(PipelineCredential credential, SourceValues sources) =>
        PipelineSecretBuilder.Build(credential, Inputs(credential, sources));

    public void Describe(PipelineCredential credential, CredentialStatus status) =>
        ((PipelineCredentialStatus)status).Probe = Probe(credential.Spec).ToString();

    /// <summary>A kubeconfig is checked against its API server unless the user says otherwise; other types are not.</summary>
    public static PipelineProbe Probe(PipelineCredentialSpec spec) =>
        spec.Validation?.Probe ?? (spec.Type == PipelineCredentialType.Kubeconfig ? PipelineProbe.KubernetesAPI : PipelineProbe.None);

    private static string? SecretSource(SecretKeyReference? reference) =>
        reference is null ? null : $"key \"{reference.Key}\" of Secret \"{reference.Name}\"";

    private static PipelineSecretInputs Inputs(PipelineCredential credential, SourceValues sources)
    {
        var spec = credential.Spec;
        var kubeconfig = sources.Text(spec.Kubeconfig?.SecretRef);
        string? clusterProblem = null;
        var cluster = kubeconfig is null ? null : ArgoClusterAccess.Read(kubeconfig, spec.Kubeconfig?.Context, out clusterProblem);
        return new PipelineSecretInputs(
            spec.UsernamePassword?.Username,
            sources.Text(spec.UsernamePassword?.PasswordSecretRef),
            sources.Text(spec.SecretText?.SecretRef),
            kubeconfig,
            cluster,
            clusterProblem);
    }

    private static PipelineProbeKind MapProbe(PipelineProbe probe) => probe switch
    {
        PipelineProbe.GitHTTP => PipelineProbeKind.GitHTTP,
        PipelineProbe.ContainerRegistry => PipelineProbeKind.ContainerRegistry,
        PipelineProbe.KubernetesAPI => PipelineProbeKind.KubernetesAPI,
        _ => PipelineProbeKind.None,
    };
}

/// <summary>
/// What <see cref="PipelineCredentialKind.LoginRelevantSpec"/> serializes. Its JSON feeds a stored fingerprint, so the
/// member names and their order must not change (a new fingerprint re-checks every credential once).
/// </summary>
internal sealed record LoginRelevantPipelineSpec(
    string Type,
    string? Server,
    string? Username,
    IReadOnlyList<string> Sources,
    string? Context,
    string Probe);
