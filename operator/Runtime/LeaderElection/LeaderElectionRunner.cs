using k8s;
using k8s.Autorest;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Runtime.LeaderElection;

/// <summary>
/// Lease-based leader election on <see cref="LeaderElector"/> and <see cref="LeaseLock"/>, adding what the
/// library lacks: work runs only while leading and is abandoned at once when leadership is lost; on a
/// graceful stop the work drains first, then the lease is released (holderIdentity cleared, as client-go's
/// ReleaseOnCancel does) so a standby takes over at once instead of after a full lease duration. An
/// unreachable API server is retried, before leading and while renewing (see <see cref="TransportTolerantLock"/>).
/// </summary>
public sealed class LeaderElectionRunner
{
    private readonly IKubernetes client;
    private readonly LeaderElectionOptions options;
    private readonly TimeProvider time;
    private readonly ILogger<LeaderElectionRunner> logger;
    private long lastErrorTicks;
    private volatile LeadershipState state;

    public LeaderElectionRunner(IKubernetes client, LeaderElectionOptions options, TimeProvider time, ILogger<LeaderElectionRunner> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        this.client = client;
        this.options = options;
        this.time = time;
        this.logger = logger;
        Identity = options.ResolveIdentity();
        LeaseNamespace = options.ResolveNamespace();
        state = options.Enabled ? LeadershipState.Candidate : LeadershipState.Disabled;
    }

    public string Identity { get; }

    public string LeaseNamespace { get; }

    public LeadershipState State => state;

    /// <summary>The leader last observed on the lease (may be this process).</summary>
    public string? CurrentLeader { get; private set; }

    /// <summary>
    /// Healthy when acting (disabled or leading) or when standing by without lease errors during the last
    /// lease duration; a standby that cannot read the lease could not take over.
    /// </summary>
    public bool IsHealthy => state switch
    {
        LeadershipState.Disabled or LeadershipState.Leading => true,
        LeadershipState.Candidate => time.GetUtcNow().UtcTicks - Interlocked.Read(ref lastErrorTicks) > options.LeaseDuration.Ticks,
        _ => false,
    };

    /// <summary>
    /// Waits for leadership, runs <paramref name="whileLeading"/> until <paramref name="stoppingToken"/> fires or
    /// leadership is lost, and releases the lease on a graceful stop. <paramref name="whileLeading"/> gets two tokens:
    /// the first asks it to stop (graceful: in-flight work may finish), the second to abandon in-flight work at once,
    /// which happens when leadership is lost, because another process may then already act on the same objects.
    /// </summary>
    public Task<LeaderElectionOutcome> RunAsync(Func<CancellationToken, CancellationToken, Task> whileLeading, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(whileLeading);
        return RunAsync(
            async (stopping, abort) =>
            {
                await whileLeading(stopping, abort).ConfigureAwait(false);
                return LeadingWorkEnd.Finished;
            },
            stoppingToken);
    }

    /// <summary>
    /// As <see cref="RunAsync(Func{CancellationToken, CancellationToken, Task}, CancellationToken)"/>, for work that may end a
    /// graceful stop with some of it still running (<see cref="LeadingWorkEnd.LeftRunning"/>): the lease is then not released.
    /// </summary>
    public async Task<LeaderElectionOutcome> RunAsync(Func<CancellationToken, CancellationToken, Task<LeadingWorkEnd>> whileLeading, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(whileLeading);
        if (!options.Enabled)
        {
            RuntimeMetrics.IsLeader.Set(1);
            await whileLeading(stoppingToken, CancellationToken.None).ConfigureAwait(false);
            return LeaderElectionOutcome.Stopped;
        }

        // The election is stopped only after the work has drained, so the lease stays renewed meanwhile.
        using var electionStop = new CancellationTokenSource();
        logger.LogInformation("Standing for leadership of lease {Namespace}/{Lease} as {Identity}", LeaseNamespace, options.LeaseName, Identity);
        var election = await StandAsync(electionStop, stoppingToken).ConfigureAwait(false);
        if (election is null)
        {
            state = LeadershipState.Stopped;
            return LeaderElectionOutcome.Stopped;
        }

        state = LeadershipState.Leading;
        RuntimeMetrics.IsLeader.Set(1);
        logger.LogInformation("Acquired lease {Namespace}/{Lease}; starting controllers", LeaseNamespace, options.LeaseName);
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var abort = new CancellationTokenSource();
        var work = whileLeading(leading.Token, abort.Token);
        var first = await Task.WhenAny(work, election).ConfigureAwait(false);

        // The election is stopped only after the work, so its end before the work's is a loss, during a graceful stop's
        // drain as well: the lease is no longer renewed and a standby may already act on the same objects.
        if (first == election)
        {
            state = LeadershipState.Lost;
            RuntimeMetrics.IsLeader.Set(0);
            logger.LogError("Lost lease {Namespace}/{Lease}; abandoning in-flight work and stopping controllers", LeaseNamespace, options.LeaseName);
            await abort.CancelAsync().ConfigureAwait(false);
            await leading.CancelAsync().ConfigureAwait(false);
            await StopElectionAsync(electionStop, election).ConfigureAwait(false);
            await AwaitAbandonedWorkAsync(work).ConfigureAwait(false);
            return LeaderElectionOutcome.Lost;
        }

        var end = LeadingWorkEnd.Finished;
        try
        {
            end = await work.ConfigureAwait(false);
        }
        finally
        {
            await electionStop.CancelAsync().ConfigureAwait(false);
            await IgnoreFailureAsync(election).ConfigureAwait(false);

            // Released, the lease went to the standby at once while a reconcile that ignored its cancellation could still
            // write (a database call that completes, then its Secret) beside the new leader. No longer renewed, it expires a
            // lease duration after the last renewal; the process, and that work with it, ends before: it exits right after the
            // Event flush, and the kubelet's SIGKILL comes 13 s after the drain and cancellation, less than the lease's 15 s.
            if (end == LeadingWorkEnd.LeftRunning)
            {
                logger.LogWarning(
                    "Not releasing lease {Namespace}/{Lease} while in-flight work is still running; the next leader takes over when it expires ({LeaseDuration} after the last renewal), after this process has exited",
                    LeaseNamespace, options.LeaseName, LogDuration.Format(options.LeaseDuration));
            }
            else
            {
                await ReleaseAsync().ConfigureAwait(false);
            }

            RuntimeMetrics.IsLeader.Set(0);
            state = LeadershipState.Stopped;
        }

        return LeaderElectionOutcome.Stopped;
    }

    /// <summary>
    /// Runs elections until one makes this process the leader, and returns that election (it ends when leadership is
    /// lost); null when <paramref name="stoppingToken"/> fired first. An election that ends without leading failed in a
    /// way the library does not retry, and a standby that stopped standing could never take over: stand again.
    /// </summary>
    private async Task<Task?> StandAsync(CancellationTokenSource electionStop, CancellationToken stoppingToken)
    {
        var stopRequested = Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken);
        while (true)
        {
            var startedLeading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var election = RunElectionAsync(startedLeading, electionStop.Token);
            await Task.WhenAny(startedLeading.Task, election, stopRequested).ConfigureAwait(false);
            if (startedLeading.Task.IsCompleted)
            {
                return election;
            }

            if (stoppingToken.IsCancellationRequested)
            {
                await electionStop.CancelAsync().ConfigureAwait(false);
                await IgnoreFailureAsync(election).ConfigureAwait(false);
                return null;
            }

            // Jittered, so that candidates that failed together do not retry together.
            var pause = options.RetryPeriod * (1 + Random.Shared.NextDouble());
            RecordError(election.Exception?.GetBaseException() ?? new InvalidOperationException("The election ended without leading"));
            logger.LogWarning("Election for lease {Namespace}/{Lease} ended without leading; standing again in {Pause}", LeaseNamespace, options.LeaseName, LogDuration.Format(pause));
            try
            {
                await Task.Delay(pause, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }

    /// <summary>One <see cref="LeaderElector"/> run, from standing to losing (or stopping).</summary>
    private async Task RunElectionAsync(TaskCompletionSource startedLeading, CancellationToken electionStop)
    {
        var leaseLock = new LeaseLock(client, LeaseNamespace, options.LeaseName, Identity);
        leaseLock.OnHttpError += RecordError;
        var steadyLock = new SteadyClockLock(new TransportTolerantLock(leaseLock, RecordError, LeaseCallTimeout), options.LeaseDuration, time);
        using var elector = new LeaderElector(new LeaderElectionConfig(steadyLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        });
        elector.OnStartedLeading += () => startedLeading.TrySetResult();
        elector.OnError += error =>
        {
            // The end of a renew attempt the election's stop cancelled is no error; an unreachable server was reported already.
            if (!(error is OperationCanceledException && electionStop.IsCancellationRequested) && !TransportTolerantLock.IsReportedStandIn(error))
            {
                RecordError(error);
            }
        };
        elector.OnNewLeader += leader =>
        {
            CurrentLeader = leader;
            logger.LogInformation("Leader of lease {Namespace}/{Lease} is now {Leader}", LeaseNamespace, options.LeaseName, leader);
        };

        await elector.RunUntilLeadershipLostAsync(electionStop).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends what is left of a lost election. When renewing misses the renew deadline, <see cref="LeaderElector"/> returns
    /// but leaves its renew attempt running on the election's token, retrying every retry period until a renewal succeeds
    /// (transport failures only make it retry, see <see cref="TransportTolerantLock"/>): it could renew the lease for this
    /// process once the API server answers again, and keep a standby from taking over while this process exits.
    /// </summary>
    private static async Task StopElectionAsync(CancellationTokenSource electionStop, Task election)
    {
        await electionStop.CancelAsync().ConfigureAwait(false);
        await IgnoreFailureAsync(election).ConfigureAwait(false);
    }

    /// <summary>
    /// Gives the abandoned work a moment to end, then returns whether it did or not. Work that ignores its abort token (a
    /// call that cannot be cancelled, a hung connection) would otherwise keep this process from reporting the loss, and so
    /// from exiting: it would linger, live by its health check, while its stuck reconcile could still write next to the new
    /// leader. Only the process's exit ends such work, so the wait is no longer than a standby still waits for the lease.
    /// </summary>
    private async Task AwaitAbandonedWorkAsync(Task work)
    {
        var grace = AbandonedWorkGrace;
        try
        {
            await work.WaitAsync(grace, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            logger.LogError("In-flight work did not stop within {Grace} of losing lease {Namespace}/{Lease}; stopping without it", LogDuration.Format(grace), LeaseNamespace, options.LeaseName);
            _ = work.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (Exception)
        {
            // Cancellation or a failure of the work itself: it ended, which is all that matters now.
        }
    }

    /// <summary>
    /// How long abandoned work may take to end after a loss: what is left of the lease then (a standby may take over from
    /// its expiry on). The elector gives up a retry period plus the renew deadline after the last renewal, since it pauses a
    /// retry period after each renewal before the next attempt, whose deadline runs from there: with the defaults, 3 s are
    /// left of the 15 s lease, not the 5 s that counting the renew deadline alone gave, which kept stuck work waited for
    /// (and the process alive) 2 s into the next leader's term. None is left when the periods leave none.
    /// </summary>
    private TimeSpan AbandonedWorkGrace
    {
        get
        {
            var left = options.LeaseDuration - options.RenewDeadline - options.RetryPeriod;
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <summary>
    /// How long one read or write of the lease may take before it counts as a failure to reach the API server: half the
    /// renew deadline, so a leader still gets a read and a write through a slow server within the deadline, while a
    /// standby's hanging attempts neither pile up nor hide that it cannot read the lease.
    /// </summary>
    private TimeSpan LeaseCallTimeout => options.RenewDeadline / 2;

    /// <summary>Hands the lease back so the next candidate need not wait for it to expire.</summary>
    private async Task ReleaseAsync()
    {
        using var timeout = new CancellationTokenSource(options.ReleaseTimeout, time);
        try
        {
            var lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(options.LeaseName, LeaseNamespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            if (lease.Spec?.HolderIdentity != Identity)
            {
                return;
            }

            var now = time.GetUtcNow().UtcDateTime;

            // Empty, not null: LeaderElector treats a null holder as "no lease yet" and tries to create one.
            lease.Spec.HolderIdentity = "";
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.RenewTime = now;
            lease.Spec.AcquireTime = now;
            await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, options.LeaseName, LeaseNamespace, cancellationToken: timeout.Token).ConfigureAwait(false);
            logger.LogInformation("Released lease {Namespace}/{Lease}", LeaseNamespace, options.LeaseName);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not release lease {Namespace}/{Lease}; the next leader waits for it to expire", LeaseNamespace, options.LeaseName);
        }
    }

    private void RecordError(Exception error)
    {
        Interlocked.Exchange(ref lastErrorTicks, time.GetUtcNow().UtcTicks);
        var detail = error is HttpOperationException http ? $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase}" : error.Message;
        logger.LogWarning("Leader election error on lease {Namespace}/{Lease}: {Detail}", LeaseNamespace, options.LeaseName, detail);
    }

    private static async Task IgnoreFailureAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Cancellation or a failure already reported through OnError.
        }
    }
}
