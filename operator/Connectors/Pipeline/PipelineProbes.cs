namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>Picks the probe for a <see cref="PipelineProbeKind"/>; <see cref="PipelineProbeKind.None"/> always succeeds.</summary>
public sealed class PipelineProbes
{
    private readonly Dictionary<PipelineProbeKind, IPipelineProbe> probes;

    public PipelineProbes(IEnumerable<IPipelineProbe> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        this.probes = [];
        foreach (var probe in probes)
        {
            if (probe.Kind == PipelineProbeKind.None || !this.probes.TryAdd(probe.Kind, probe))
            {
                throw new ArgumentException($"probe kind {probe.Kind} given twice or reserved", nameof(probes));
            }
        }
    }

    /// <summary>The three built-in probes.</summary>
    public static PipelineProbes CreateDefault(TimeProvider? time = null) =>
        new([new GitHttpProbe(time), new ContainerRegistryProbe(time), new KubernetesApiProbe(time)]);

    public Task<ValidationOutcome> ProbeAsync(PipelineProbeKind kind, PipelineProbeRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (kind == PipelineProbeKind.None)
        {
            return Task.FromResult(ValidationOutcome.Success("validation is disabled (probe None): the credential was not checked against any server"));
        }

        return probes.TryGetValue(kind, out var probe)
            ? probe.ProbeAsync(request, ct)
            : Task.FromResult(ValidationOutcome.Failure(ValidationReasons.Unsupported, $"no probe for {kind}"));
    }
}
