namespace Passbox.Operator.Runtime.Hosting;

/// <summary>
/// The time a graceful stop may take, and how it is shared between its steps, in the order they run: the controllers
/// drain (in-flight reconciles may finish), what is still running is cancelled and given a moment to end, the lease is
/// handed back, and the queued Events are written. The host's shutdown timeout is the sum, and it stays
/// <see cref="ExitMargin"/> below the pod's <see cref="PodGracePeriod"/>: with both at 30 s, a reconcile that ignored its
/// cancellation used up the host's timeout at the moment the kubelet sent SIGKILL, so the Events were not written and the
/// lease was not released (the standby then waited for it to expire). Each step is bounded, so a stuck one leaves the
/// later ones their time.
/// </summary>
public sealed record ShutdownBudget
{
    /// <summary>
    /// The chart's default <c>terminationGracePeriodSeconds</c> (charts/passbox/values.yaml, config/manager/manager.yaml; a
    /// test holds both to it), and the least the operator accepts: below it the drain would be shorter than 15 s.
    /// </summary>
    public static readonly TimeSpan DefaultPodGracePeriod = TimeSpan.FromSeconds(30);

    /// <summary>What the process still needs after its host has stopped (disposing the services, the runtime's exit).</summary>
    public static readonly TimeSpan ExitMargin = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The pods' <c>terminationGracePeriodSeconds</c>, passed to the operator (<c>--termination-grace-period-seconds</c>):
    /// the kubelet sends SIGKILL this long after SIGTERM.
    /// </summary>
    public TimeSpan PodGracePeriod { get; init; } = DefaultPodGracePeriod;

    /// <summary>How long in-flight reconciles may finish after the stop was asked for; then they are cancelled.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long cancelled reconciles get to end. One that ignores its cancellation (a call that honours no token) is then
    /// left behind and ends with the process, as controller-runtime does after its graceful shutdown timeout.
    /// </summary>
    public TimeSpan CancelledWork { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Handing the lease back (a read and a write), so the standby takes over at once instead of after the lease duration.</summary>
    public TimeSpan LeaseRelease { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Writing the Events still queued when the controllers have stopped: the last ones tell what the reconciles did.</summary>
    public TimeSpan EventFlush { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The host's shutdown timeout: every step's share, the whole graceful stop.</summary>
    public TimeSpan HostTimeout => Drain + CancelledWork + LeaseRelease + EventFlush;

    /// <summary>
    /// The budget for pods given <paramref name="podGracePeriod"/>: what the grace period has beyond the default goes to
    /// the drain, so a longer one lets slow reconciles (a long <c>ALTER USER</c>, a slow database) finish instead of being
    /// cancelled; the later steps keep their shares, and the host still stops <see cref="ExitMargin"/> before SIGKILL.
    /// </summary>
    public static ShutdownBudget For(TimeSpan podGracePeriod)
    {
        if (podGracePeriod < DefaultPodGracePeriod)
        {
            throw new ArgumentException(
                $"The pods' grace period ({podGracePeriod.TotalSeconds:0.#} s) must be at least {DefaultPodGracePeriod.TotalSeconds:0} s: a graceful stop needs {new ShutdownBudget().HostTimeout.TotalSeconds:0} s and {ExitMargin.TotalSeconds:0} s to exit");
        }

        var steps = new ShutdownBudget();
        return steps with
        {
            PodGracePeriod = podGracePeriod,
            Drain = podGracePeriod - ExitMargin - steps.CancelledWork - steps.LeaseRelease - steps.EventFlush,
        };
    }

    /// <summary>Refuses a budget with a negative step, or one whose host timeout leaves no time to exit before SIGKILL.</summary>
    public ShutdownBudget Validated()
    {
        if (Drain < TimeSpan.Zero || CancelledWork < TimeSpan.Zero || LeaseRelease <= TimeSpan.Zero || EventFlush <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Every step of the shutdown budget needs a time of its own (drain {Drain}, cancelled work {CancelledWork}, lease release {LeaseRelease}, event flush {EventFlush})");
        }

        if (HostTimeout > PodGracePeriod - ExitMargin)
        {
            throw new ArgumentException(
                $"The shutdown budget ({HostTimeout.TotalSeconds:0.#} s) must stay {ExitMargin.TotalSeconds:0} s below the pods' grace period ({PodGracePeriod.TotalSeconds:0} s), or the kubelet kills the process before it has released its lease");
        }

        return this;
    }
}
