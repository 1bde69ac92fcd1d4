using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Hosting;

/// <summary>
/// Runs the registered informers for the life of the process (a standby keeps warm caches and is
/// ready to take over) and the controllers only while this process leads. Losing leadership stops
/// the host with exit code 1 so the pod restarts as a clean candidate, as controller-runtime does; so
/// does any other end of the controllers or of an informer that nobody asked for: a process that runs no
/// controllers, or runs them on a cache that no longer changes, must not look alive.
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
        var informersStopping = informerStop.Token;
        foreach (var (informer, run) in informers.Zip(informerRuns))
        {
            _ = run.ContinueWith(ended => StopIfUnasked(informer, ended, informersStopping), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        try
        {
            var outcome = await election.RunAsync(
                (stopping, abort) => Task.WhenAll(controllers.Select(controller => controller.RunAsync(stopping, abort))),
                stoppingToken).ConfigureAwait(false);

            if (outcome == LeaderElectionOutcome.Lost)
            {
                Exit();
            }
            else if (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError("The controllers stopped although no shutdown was requested; stopping the process so that it restarts");
                Exit();
            }
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogCritical(e, "The controllers failed; stopping the process so that it restarts");
            Exit();
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
    /// An informer ends only when told to. One that ended otherwise (a fault) leaves its cache as it was for good, and
    /// controllers would go on acting on it: stop the process, as for controllers that end unasked, so it restarts.
    /// </summary>
    private void StopIfUnasked(IInformer informer, Task ended, CancellationToken informerStop)
    {
        if (informerStop.IsCancellationRequested)
        {
            return;
        }

        logger.LogCritical(ended.Exception?.GetBaseException(), "The informer of {Resource} stopped although no shutdown was requested; stopping the process so that it restarts", informer.Resource.DisplayName);
        Exit();
    }

    private void Exit()
    {
        Environment.ExitCode = 1;
        lifetime.StopApplication();
    }
}
