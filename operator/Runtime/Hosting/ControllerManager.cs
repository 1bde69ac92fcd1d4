using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Hosting;

/// <summary>
/// Runs the registered informers for the life of the process (a standby keeps warm caches and is
/// ready to take over) and the controllers only while this process leads. Losing leadership stops
/// the host with exit code 1 so the pod restarts as a clean candidate, as controller-runtime does.
/// </summary>
public sealed class ControllerManager : BackgroundService
{
    private readonly IServiceProvider services;
    private readonly LeaderElectionRunner election;
    private readonly IHostApplicationLifetime lifetime;
    private readonly ILogger<ControllerManager> logger;

    public ControllerManager(IServiceProvider services, LeaderElectionRunner election, IHostApplicationLifetime lifetime, ILogger<ControllerManager> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(election);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(logger);
        this.services = services;
        this.election = election;
        this.lifetime = lifetime;
        this.logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Controllers subscribe to their informers when created, so create them before informers start.
        var controllers = services.GetServices<IController>().ToList();
        var informers = services.GetServices<IInformer>().Distinct().ToList();

        using var informerStop = new CancellationTokenSource();
        var informerRuns = informers.Select(informer => Task.Run(() => informer.RunAsync(informerStop.Token), CancellationToken.None)).ToList();
        informerRuns.Add(ReleaseListPeakAsync(informers, informerStop.Token));
        try
        {
            var outcome = await election.RunAsync(
                token => Task.WhenAll(controllers.Select(controller => controller.RunAsync(token))),
                stoppingToken).ConfigureAwait(false);

            if (outcome == LeaderElectionOutcome.Lost)
            {
                Environment.ExitCode = 1;
                lifetime.StopApplication();
            }
        }
        finally
        {
            await informerStop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(informerRuns).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "An informer ended with an error during shutdown");
            }
        }
    }

    /// <summary>
    /// The first lists of a big cluster (tens of thousands of Secrets and Pods, each page reduced as it arrives) leave
    /// the heap at its peak, and workstation GC hands that memory back only lazily: without this the process would keep
    /// its start-up peak for hours. One aggressive collection once every informer has synced returns it at once; it
    /// costs a single pause of some milliseconds, as the controllers start.
    /// </summary>
    private static async Task ReleaseListPeakAsync(IEnumerable<IInformer> informers, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(informers.Select(informer => informer.WaitForSyncAsync(cancellationToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
