namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// What the planner knows about the previous check of a credential. Memory also keeps a failure's message, so a failure
/// whose status write was lost can still be shown, and, for a refusal that another credential's identical login got
/// (<see cref="Connectors.SharedLogins"/>), when this credential makes one login of its own (<c>SharedRefusalRetryAt</c>).
/// </summary>
public sealed record PreviousCheck(
    string? AttemptedRevision,
    DateTimeOffset? LastAttempted,
    DateTimeOffset? LastValidated,
    bool? Succeeded,
    string? Reason,
    int ConsecutiveTransientFailures,
    string? Message = null,
    DateTimeOffset? SharedRefusalRetryAt = null);

/// <summary>Whether to log in now, and when to look again otherwise.</summary>
public sealed record ValidationPlan(bool ValidateNow, TimeSpan? RequeueAfter)
{
    public static ValidationPlan Now { get; } = new(true, null);

    public static ValidationPlan Wait(TimeSpan? after) => new(false, after);
}

/// <summary>
/// Decides when a credential is checked. New inputs are checked at once. A good login is checked again every
/// interval. A refused login (wrong password, missing permission, bad configuration) waits a full interval, because
/// repeated bad logins lock accounts on many servers; only a change of the inputs brings the check forward. Network
/// failures (and those a kind adds) back off exponentially with jitter, so a server that comes back is noticed without
/// hammering it. Checks that were already overdue when this process first saw the object (after a restart, or a long
/// leader change) are spread over one period instead of all running at once.
/// </summary>
public sealed class ValidationPlanner(TimeProvider time)
{
    public static readonly TimeSpan TransientBase = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan TransientCap = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Failures that involved no refused login of the credential's own user, so retrying soon locks nothing: the
    /// network, and an administrator credential that is not Ready yet (it usually is a moment later). A kind may back
    /// off on more of its own (<see cref="ICredentialKind{T}.BacksOff"/>).
    /// </summary>
    private static readonly HashSet<string> TransientReasons = new(StringComparer.Ordinal) { "Unreachable", "Timeout", "AdminNotReady" };

    public static bool IsTransient(string? reason) => reason is not null && TransientReasons.Contains(reason);

    /// <summary>
    /// The shortest interval between checks. The schema refuses shorter ones; an object stored before that rule (say
    /// <c>interval: 5ms</c>) would otherwise log in hundreds of times a second, and retry a refused password as often.
    /// </summary>
    public static readonly TimeSpan ShortestInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A <c>validation.interval</c> as everything that waits on it reads it: this planner, and a deletion retrying an
    /// administrator's refused login (<see cref="ReleaseRetries"/>). Zero stays zero (only on change); anything else is at
    /// least <see cref="ShortestInterval"/>.
    /// </summary>
    public static TimeSpan ParseInterval(string? text, TimeSpan fallback)
    {
        var interval = GoDuration.Parse(text, fallback);
        return interval > TimeSpan.Zero && interval < ShortestInterval ? ShortestInterval : interval;
    }

    /// <param name="revision">Fingerprint of the current inputs.</param>
    /// <param name="interval">The credential's validation interval; zero means only on change.</param>
    /// <param name="previous">The last check, from the status.</param>
    /// <param name="objectUid">Seeds the jitter, so every reconcile of one object computes the same due time.</param>
    /// <param name="firstSeen">When this process first saw the object (see <see cref="CheckMemory.FirstSeen"/>).</param>
    /// <param name="backsOff">Which failures back off instead of waiting the interval; <see cref="IsTransient"/> when not given.</param>
    public ValidationPlan Plan(string revision, TimeSpan interval, PreviousCheck previous, string objectUid, DateTimeOffset? firstSeen = null,
        Func<string?, bool>? backsOff = null)
    {
        if (previous.AttemptedRevision != revision || previous.LastAttempted is null || previous.Succeeded is null)
        {
            return ValidationPlan.Now;
        }

        var now = time.GetUtcNow();
        var jitter = StableFraction(objectUid, previous.LastAttempted.Value);
        if (previous.Succeeded == true)
        {
            return interval == TimeSpan.Zero
                ? ValidationPlan.Wait(null)
                : Due(SpreadIfOverdue((previous.LastValidated ?? previous.LastAttempted.Value) + Spread(interval, jitter), firstSeen, interval, jitter), now);
        }

        if (previous.SharedRefusalRetryAt is { } retry)
        {
            // Refused at another credential's login a moment before this check: one login of its own once that refusal is
            // no longer reused, so a password fixed on the server just after the Secret is noticed in seconds, not an
            // interval later (the credentials of a storm come back together and share that one login too).
            return Due(retry, now);
        }

        if ((backsOff ?? IsTransient)(previous.Reason))
        {
            var cap = interval > TimeSpan.Zero && interval < TransientCap ? interval : TransientCap;
            return Due(SpreadIfOverdue(previous.LastAttempted.Value + Backoff(previous.ConsecutiveTransientFailures, cap, jitter), firstSeen, cap, jitter), now);
        }

        return interval == TimeSpan.Zero
            ? ValidationPlan.Wait(null)
            : Due(SpreadIfOverdue(previous.LastAttempted.Value + interval, firstSeen, interval, jitter), now);
    }

    /// <summary>The longest a restarted operator spreads its backlog over, whatever the interval.</summary>
    public static readonly TimeSpan MaxStartupSpread = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A check that was due before this process first saw the object runs at a fixed point of the following period
    /// (at most <see cref="MaxStartupSpread"/>) chosen by the object's jitter, so a restarted operator spreads its
    /// backlog instead of logging in everywhere at once. The bound matters because an unchanged check is not written:
    /// with a long interval, an operator restarted now and then must not keep pushing a check a whole interval away.
    /// </summary>
    private static DateTimeOffset SpreadIfOverdue(DateTimeOffset due, DateTimeOffset? firstSeen, TimeSpan period, double jitter) =>
        firstSeen is { } seen && due < seen
            ? seen + TimeSpan.FromMilliseconds(Math.Min(period.TotalMilliseconds, MaxStartupSpread.TotalMilliseconds) * jitter)
            : due;

    /// <summary>Exponential backoff with full jitter in the upper half: base·2ⁿ, capped, times 0.5–1.0.</summary>
    public static TimeSpan Backoff(int failures, TimeSpan cap, double jitter) => Backoff(failures, TransientBase, cap, jitter);

    /// <summary>
    /// The same from another base (<see cref="RefusedWriteBackoff"/> starts at a minute). The jitter only shortens, so
    /// <paramref name="first"/> and <paramref name="cap"/> stay upper bounds.
    /// </summary>
    public static TimeSpan Backoff(int failures, TimeSpan first, TimeSpan cap, double jitter)
    {
        var exponent = Math.Clamp(failures - 1, 0, 20);
        var ceiling = Math.Min(cap.TotalMilliseconds, first.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (0.5 * jitter)));
    }

    /// <summary>Up to 10% extra on the interval, so credentials created together do not log in together forever.</summary>
    private static TimeSpan Spread(TimeSpan interval, double jitter) => interval + TimeSpan.FromMilliseconds(interval.TotalMilliseconds * 0.1 * jitter);

    /// <summary>A number in [0, 1) that is fixed for one object and one attempt, and differs between objects.</summary>
    public static double StableFraction(string seed, DateTimeOffset attempt)
    {
        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{seed}/{attempt.UtcTicks}"));
        var hash = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest);
        return (hash >> 11) * (1.0 / (1UL << 53));
    }

    private static ValidationPlan Due(DateTimeOffset due, DateTimeOffset now) =>
        due <= now ? ValidationPlan.Now : ValidationPlan.Wait(due - now);
}
