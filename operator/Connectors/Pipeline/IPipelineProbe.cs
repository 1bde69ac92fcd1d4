namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>Which server a pipeline credential is checked against.</summary>
public enum PipelineProbeKind
{
    /// <summary>No check: the credential is taken as it is.</summary>
    None,

    /// <summary>A git server over smart HTTP(S).</summary>
    GitHTTP,

    /// <summary>A container registry speaking the distribution API (<c>/v2/</c>).</summary>
    ContainerRegistry,

    /// <summary>A Kubernetes API server, reached with a kubeconfig or a bearer token.</summary>
    KubernetesAPI,
}

/// <summary>
/// Checks that a pipeline credential logs in to the server it is for. Implementations hold no
/// Kubernetes-operator types and never put secret material into the outcome.
/// </summary>
public interface IPipelineProbe
{
    PipelineProbeKind Kind { get; }

    /// <summary>
    /// Runs the check. Failures of the server or the credential come back as an outcome; only
    /// cancellation through <paramref name="ct"/> throws.
    /// </summary>
    Task<ValidationOutcome> ProbeAsync(PipelineProbeRequest request, CancellationToken ct);
}
