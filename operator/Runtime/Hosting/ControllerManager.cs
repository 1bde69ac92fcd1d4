using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Hosting;

/// <summary>
/// Runs the registered informers for the life of the process (a standby keeps warm caches and is
/// ready to take over) and the controllers only while this process leads. Losing leadership stops
/// the host with exit code 1 so the pod restarts as a clean candidate, as controller-runtime does; so
/// does any other end of the controllers or of an informer that nobody asked for: a process that runs no
/// controllers, or runs them on a cache that no longer changes, must not look alive. A graceful stop holds the controllers
/// to the <see cref="ShutdownBudget"/>, so the lease release and the Event flush after them keep their time.
/// </summary>
public sealed class ControllerManager : BackgroundService
{
    private readonly IServiceProvider services;
    private readonly LeaderElectionRunner election;
    private readonly IHostApplicationLifetime lifetime;
    private readonly ShutdownBudget budget;
    private readonly TimeProvider time;
    private readonly ILogger<ControllerManager> logger;

    public ControllerManager(
        IServiceProvider services, LeaderElectionRunner election, IHostApplicationLifetime lifetime, RuntimeOptions options, TimeProvider time, ILogger<ControllerManager> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(election);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        this.services = services;
        this.election = election;
        this.lifetime = lifetime;
        budget = options.Shutdown;
        this.time = time;
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
            var outcome = await election.RunAsync((stopping, abort) => RunControllersAsync(controllers, stopping, abort), stoppingToken).ConfigureAwait(false);

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
    /// Runs the controllers until <paramref name="stopping"/> fires, then gives their in-flight reconciles the budget's
    /// drain, cancels what is still running (through the controllers' abort token, which cancels in-flight work at once)
    /// and waits a moment more. A reconcile that ignores its cancellation kept the lease held and the Events unwritten
    /// until the host's timeout; it is now left behind, to end with the process, which exits right after the flush, and the
    /// lease is then left to expire rather than released, since that reconcile could still write.
    /// </summary>
    private async Task<LeadingWorkEnd> RunControllersAsync(IReadOnlyList<IController> controllers, CancellationToken stopping, CancellationToken abort)
    {
        using var cutShort = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var run = Task.WhenAll(controllers.Select(controller => controller.RunAsync(stopping, cutShort.Token)));
        await Task.WhenAny(run, Task.Delay(Timeout.InfiniteTimeSpan, stopping)).ConfigureAwait(false);
        if (!run.IsCompleted && !abort.IsCancellationRequested)
        {
            if (!await EndsWithinAsync(run, budget.Drain).ConfigureAwait(false))
            {
                logger.LogWarning("In-flight reconciles did not finish within the shutdown drain ({Drain}); cancelling them", LogDuration.Format(budget.Drain));
                await cutShort.CancelAsync().ConfigureAwait(false);
                if (!await EndsWithinAsync(run, budget.CancelledWork).ConfigureAwait(false))
                {
                    logger.LogError(
                        "In-flight reconciles ignored their cancellation for {Grace}; stopping without them so that the events are written before the shutdown timeout",
                        LogDuration.Format(budget.CancelledWork));
                    _ = run.ContinueWith(static ended => ended.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                    return LeadingWorkEnd.LeftRunning;
                }
            }
        }

        await run.ConfigureAwait(false);
        return LeadingWorkEnd.Finished;
    }

    /// <summary>Whether <paramref name="work"/> ends (in any way) within <paramref name="limit"/>.</summary>
    private async Task<bool> EndsWithinAsync(Task work, TimeSpan limit)
    {
        await Task.WhenAny(work, Task.Delay(limit, time, CancellationToken.None)).ConfigureAwait(false);
        return work.IsCompleted;
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
