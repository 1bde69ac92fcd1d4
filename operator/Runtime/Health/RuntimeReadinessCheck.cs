using Microsoft.Extensions.Diagnostics.HealthChecks;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Health;

/// <summary>
/// Ready when every informer has its initial list and still follows the server (its lists and watches have not kept
/// failing for a while), and leader election is either off, leading, or standing by without lease errors: a standby
/// that can reach the lease can take over.
/// </summary>
public sealed class RuntimeReadinessCheck : IHealthCheck
{
    private readonly IEnumerable<IInformer> informers;
    private readonly LeaderElectionRunner election;

    public RuntimeReadinessCheck(IEnumerable<IInformer> informers, LeaderElectionRunner election)
    {
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(election);
        this.informers = informers;
        this.election = election;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // With the last failure, so a probe's answer says why (a role without list on a kind, say), not only what.
        var unsynced = informers.Where(informer => !informer.HasSynced)
            .Select(informer => informer.SyncProblem is { } problem ? $"{informer.Resource.DisplayName} ({problem})" : informer.Resource.DisplayName)
            .ToList();
        var data = new Dictionary<string, object> { ["leadership"] = election.State.ToString() };
        if (unsynced.Count > 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"Informers not synced: {string.Join(", ", unsynced)}", data: data));
        }

        // Synced once, but no longer following the server: reconciles would act on a cache that stays as it was.
        var stale = informers.Select(informer => informer.WatchProblem is { } problem ? $"{informer.Resource.DisplayName} ({problem})" : null)
            .OfType<string>()
            .ToList();
        if (stale.Count > 0)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"Informers not current: {string.Join(", ", stale)}", data: data));
        }

        return Task.FromResult(election.IsHealthy
            ? HealthCheckResult.Healthy($"Synced; leadership {election.State}", data)
            : HealthCheckResult.Unhealthy($"Leader election unhealthy ({election.State})", data: data));
    }
}
