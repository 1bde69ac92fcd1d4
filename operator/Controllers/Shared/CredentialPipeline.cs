using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The validate-then-publish flow both kinds share: read the source Secrets, log in when a check is due, publish the
/// Secret only after a successful check, keep the last good Secret when a later check fails, and describe it all in
/// the conditions. Kind-specific work (how to log in, what the Secret holds) comes from an <see cref="ICredentialKind{T}"/>.
/// </summary>
public sealed partial class CredentialPipeline(
    SourceSecretReader sources,
    GeneratedSecretPublisher publisher,
    ValidationPlanner planner,
    CheckMemory memory,
    IEventSink events,
    Provisioning.WorkloadRestarter restarter,
    RetiredSecrets retired,
    RefusedWriteBackoff refusals,
    RunningChecks running,
    TimeProvider time,
    ILogger<CredentialPipeline> logger)
{
    /// <summary>Extra time past the credential's own timeout before a stuck check is abandoned.</summary>
    private static readonly TimeSpan TimeoutGrace = TimeSpan.FromSeconds(5);

    /// <summary>How soon a credential is looked at again when its next check was due before this one ended.</summary>
    public static readonly TimeSpan ShortestRecheck = TimeSpan.FromSeconds(1);

    /// <summary>How soon to look again when the cache has not caught up with this process's own status write.</summary>
    public static readonly TimeSpan CacheLagRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>True when the cached status is older than this process's last check (see <see cref="CheckMemory"/>).</summary>
    public bool StatusLags(IKubernetesObject<V1ObjectMeta> credential, CredentialStatus status) =>
        memory.StatusLags(CheckMemory.KeyOf(credential), status.LastAttempted, status.AttemptedRevision, time.GetUtcNow());

    /// <summary>The status this pass computed was not written (see <see cref="CheckMemory.NotWritten"/>).</summary>
    public void StatusNotWritten(IKubernetesObject<V1ObjectMeta> credential) => memory.NotWritten(CheckMemory.KeyOf(credential));

    /// <summary>Forgets a deleted credential.</summary>
    public void Forget(IKubernetesObject<V1ObjectMeta> credential)
    {
        var key = CheckMemory.KeyOf(credential);
        memory.Forget(key);
        restarter.Forget(key);
        refusals.Forget(key);
    }

    /// <summary>
    /// Forgets every credential of <paramref name="primary"/> once it is gone. The reconciler forgets what it lets go
    /// on deletion, but a credential whose finalizer was removed by hand vanishes without reaching that path.
    /// </summary>
    public IDisposable ForgetDeleted<T>(IInformer<T> primary)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(primary);
        return primary.Subscribe(change =>
        {
            if (change.Type == InformerEventType.Deleted)
            {
                Forget(change.Current);
            }
        });
    }

    /// <summary>Runs one pass and updates <paramref name="status"/> in place; returns when to look again.</summary>
    public async Task<TimeSpan?> RunAsync<T>(T credential, ICredentialKind<T> kind, CredentialStatus status, CancellationToken ct,
        DeletionProtection? protection = null)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        protection ??= DeletionProtection.AlreadyInPlace;
        var meta = credential.Metadata;
        var conditions = new ConditionSet(status.Conditions, meta.Generation, time);
        status.ObservedGeneration = meta.Generation;
        kind.Describe(credential, status);

        // The schema refuses such names on create, but a credential stored before that rule can still have one: every
        // Secret write would be refused, so say why once instead of retrying. Only a new credential can fix it.
        if (CredentialName.Problem(meta.Name) is { } badName)
        {
            await ReportFailureAsync(credential, conditions, status, ValidationOutcome.Failure(ValidationReasons.InvalidSpec, badName), ct);
            status.Conditions = conditions.ToList();
            return null;
        }

        TimeSpan? preparedRequeue = null;
        if (kind.Provisioning is { } provisioning)
        {
            // A managed credential creates its password and user before anything else: protected first.
            if (provisioning.Manages(credential) && !await protection.WaitAsync())
            {
                return null;
            }

            var prepared = await provisioning.PrepareAsync(credential, status, ct);
            if (prepared.Failure is { } failure)
            {
                await ReportFailureAsync(credential, conditions, status, failure, ct);
                status.Conditions = conditions.ToList();
                return prepared.RequeueAfter;
            }

            preparedRequeue = prepared.RequeueAfter;
        }

        var values = new List<SourceValue>();
        foreach (var read in kind.SourceReferences(credential).GroupBy(r => r.ToString(), StringComparer.Ordinal))
        {
            // One read per Secret key; a message about it names every field that points there.
            values.Add(await sources.ReadAsync(meta.NamespaceProperty, read.First().Secret, ct, string.Join(" and ", read.Select(r => r.Field).Distinct())));
        }

        var missing = values.Where(v => !v.Found).Select(v => v.Problem!).ToList();
        if (missing.Count > 0)
        {
            await ReportMissingSourcesAsync(credential, conditions, status, string.Join("; ", missing), ct);
            status.Conditions = conditions.ToList();
            return null; // The source Secret watch brings the credential back as soon as the Secret appears.
        }

        var sourceValues = new SourceValues(values);
        var revision = InputRevision.Compute(kind.LoginRelevantSpec(credential), values);
        var schedule = kind.Schedule(credential);
        var notices = new PassNotices();
        var trial = new PublishTrial(trialCt => RehearsePublishAsync(credential, kind, sourceValues, revision, status, trialCt, ct));
        var (requeue, held) = await CheckIfDueAsync(credential, kind, sourceValues, revision, schedule, conditions, status, notices, trial, ct);

        if (status.AttemptedRevision == revision)
        {
            // The last check was of exactly these inputs (an edit of the spec that changes no login asks for none): what
            // it found holds for this generation too.
            conditions.Observe(ConditionTypes.Validated);
        }

        var validatedNow = conditions.IsTrue(ConditionTypes.Validated) && status.AttemptedRevision == revision;
        TimeSpan? restartRequeue = null;
        if (validatedNow && !await protection.WaitAsync())
        {
            return null; // Deleted while the check ran: nothing is published, and the status is not written.
        }

        if (validatedNow)
        {
            var (payload, problem) = BuildSecret(credential, kind, sourceValues);
            if (payload is not null)
            {
                restartRequeue = await PublishAsync(credential, payload, sourceValues, revision, conditions, status, notices,
                    kind.Provisioning?.Manages(credential) == true, ct);
            }
            else
            {
                await ReportUnbuildableAsync(credential, conditions, status, problem!, ct);
            }
        }
        else if (held is not null)
        {
            // The new password was kept off the server: the Secret holds the one that logs in, and says why it is not
            // updated, as after a refused write.
            await ReportRejectedAsync(credential, conditions, held, ct);
        }
        else
        {
            DescribeHeldBack(conditions, status);
        }

        if (notices.TakeCheckSucceeded() is { } untold)
        {
            // Nothing was published in this pass (the Secret was already up to date, or the write was refused).
            await events.NormalAsync(credential, untold.Reason, untold.Message, ct);
        }

        status.Conditions = conditions.ToList();
        return Earliest(Earliest(requeue, preparedRequeue), restartRequeue);
    }

    private static TimeSpan? Earliest(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>
    /// When a credential refused at another credential's identical login (<see cref="SharedLogins"/>) logs in once itself:
    /// a moment after that refusal stops being reused. Once per inputs: refused that way again right after, it waits like any
    /// refused login, so credentials sharing a wrong password cost a few refused logins, not one every few seconds.
    /// </summary>
    private static DateTimeOffset? SharedRefusalRetry(ValidationOutcome outcome, PreviousCheck previous, string revision, DateTimeOffset checkedAt) =>
        outcome.SharedRefusalEndsIn is { } ends && !(previous.AttemptedRevision == revision && previous.SharedRefusalRetryAt is not null)
            ? checkedAt + ends + SharedRefusalMargin
            : null;

    /// <summary>After the end of a reused refusal: the retry finds it gone, not a few milliseconds before.</summary>
    private static readonly TimeSpan SharedRefusalMargin = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Runs the check when it is due; returns when to look again, and the refusal that held back a new password (the
    /// check then did not run, see <see cref="PublishTrial"/>).
    /// </summary>
    private async Task<(TimeSpan? Requeue, SecretRefusalReport? Held)> CheckIfDueAsync<T>(T credential, ICredentialKind<T> kind, SourceValues values,
        string revision, CheckSchedule schedule, ConditionSet conditions, CredentialStatus status, PassNotices notices, PublishTrial trial, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var uid = CheckMemory.KeyOf(credential);
        if (schedule.Disabled)
        {
            status.AttemptedRevision = revision;
            conditions.Set(ConditionTypes.Validated, true, ConditionReasons.ValidationDisabled,
                $"validation is disabled ({schedule.DisabledBy}); the Secret is published without a check");
            return (null, null);
        }

        var validated = conditions.Find(ConditionTypes.Validated);
        var previous = memory.Newest(uid, new PreviousCheck(
            status.AttemptedRevision,
            status.LastAttempted is { } attempted ? new DateTimeOffset(attempted, TimeSpan.Zero) : null,
            status.LastValidated is { } good ? new DateTimeOffset(good, TimeSpan.Zero) : null,
            validated is null ? null : validated.Status == "True",
            validated?.Reason,
            0));

        var plan = planner.Plan(revision, schedule.Interval, previous, uid, memory.FirstSeen(uid, time.GetUtcNow()), kind.BacksOff);

        // A successful check of these inputs whose status write failed (a recovery after a refused login) cannot be shown
        // from memory, which keeps neither its message nor its server version: it is run again, one good login, rather
        // than the status saying the login fails until the next check, an interval later or never with interval "0".
        var unshownSuccess = memory.Unshown(uid, status.LastAttempted, status.AttemptedRevision) is { Succeeded: true } lost
            && lost.AttemptedRevision == revision;
        if (!plan.ValidateNow && !unshownSuccess && !WaitIsOver(credential, kind, previous, revision) && !ExpiredSinceChecked(status, previous, time.GetUtcNow()))
        {
            ShowUnwrittenFailure(previous, revision, conditions, status);
            return (Earliest(plan.RequeueAfter, UntilExpiry(status, previous, time.GetUtcNow())), null);
        }

        ValidationOutcome outcome;
        using (var check = running.Begin(credential, kind.LoginRelevantSpec(credential), values.All))
        {
            outcome = await ValidateAsync(credential, kind, values, status, schedule.Timeout, check, trial, ct);

            // Newer inputs arrived while it ran (the event that said so queued the credential again): whatever it found,
            // a connector's own Timeout included, describes inputs the credential no longer has. Nothing is reported or
            // remembered, so the next pass checks the new inputs at once. Not a check whose administrator changed the
            // user (see RunningCheck.Keep): it is reported, and the next pass checks the new inputs after it.
            if (check.IsSuperseded)
            {
                throw new CheckSupersededException();
            }
        }

        if (trial.Refusal is { } refusal)
        {
            // The Secret would not take the new password, so the administrator left the server alone and nobody logged in:
            // no check ran, and none is recorded. Validated still tells the last one, whose password still logs in; the
            // next pass asks again (at once after an edit, else when the refusal's retry is due, without a request before).
            return (trial.RetryAfter, new SecretRefusalReport(outcome.Reason, outcome.Message, refusal.FixedElsewhere));
        }

        CredentialMetrics.CountCheck(credential.Kind ?? typeof(T).Name, outcome.Reason);
        // The status holds whole seconds; the next check is planned from the exact time. Planned from the truncated
        // one, it could be due before this check even ended (a 1s interval, a backoff under a second), and a due plan
        // asks for no requeue: a credential waiting for its admin would then wait until something else changed.
        var checkedAt = time.GetUtcNow();
        var now = StatusTime.Truncate(checkedAt.UtcDateTime);
        var transientFailures = kind.BacksOff(outcome.Reason)
            ? memory.TransientFailures(uid) + 1
            : 0;

        // A periodic check that found what the status already says is not written: an idle operator writes nothing.
        // Only memory records it, which is enough to schedule the next one an interval later.
        var unchanged = ConfirmsStatus(outcome, revision, validated, status);
        if (!unchanged)
        {
            status.LastAttempted = now;
            status.AttemptedRevision = revision;
            if (outcome.Succeeded)
            {
                status.LastValidated = now;
                status.ServerVersion = outcome.ServerVersion ?? status.ServerVersion;
                status.ExpiresAt = outcome.ExpiresAt is { } expires ? StatusTime.Truncate(expires.UtcDateTime) : null;
            }
        }

        var changed = validated is null || (validated.Status == "True") != outcome.Succeeded || validated.Reason != outcome.Reason;
        conditions.Set(ConditionTypes.Validated, outcome.Succeeded, outcome.Reason, outcome.Message);
        if (changed && outcome.Succeeded)
        {
            notices.CheckSucceeded(outcome.Reason, outcome.Message);
        }
        else if (changed)
        {
            await events.WarningAsync(credential, outcome.Reason, outcome.Message, ct);
        }

        var next = new PreviousCheck(revision, checkedAt, outcome.Succeeded ? checkedAt : previous.LastValidated, outcome.Succeeded, outcome.Reason,
            transientFailures, outcome.Succeeded ? null : outcome.Message, SharedRefusalRetry(outcome, previous, revision, checkedAt));
        memory.Remember(uid, next, written: !unchanged);
        var after = planner.Plan(revision, schedule.Interval, next, uid, backsOff: kind.BacksOff);

        // Due already (an interval shorter than the check took): looked at again soon, never forgotten, never at once.
        return (after.ValidateNow ? ShortestRecheck : Earliest(after.RequeueAfter, UntilExpiry(status, next, checkedAt)), null);
    }

    /// <summary>
    /// The last check succeeded with credentials that have ended since (<see cref="CredentialStatus.ExpiresAt"/>): checked
    /// now, so Ready turns False when they stop working rather than up to an interval later. Once: the check after the
    /// end is later than it, whatever it finds.
    /// </summary>
    private static bool ExpiredSinceChecked(CredentialStatus status, PreviousCheck previous, DateTimeOffset now) =>
        previous.Succeeded == true
        && status.ExpiresAt is { } expires
        && AsUtc(expires) <= now
        && previous.LastAttempted is { } attempted && attempted < AsUtc(expires);

    /// <summary>How long until the credentials that passed the last check end, when that comes before anything else; a second after it.</summary>
    private static TimeSpan? UntilExpiry(CredentialStatus status, PreviousCheck previous, DateTimeOffset now) =>
        previous.Succeeded == true && status.ExpiresAt is { } expires && AsUtc(expires) > now
            ? AsUtc(expires) - now + ShortestRecheck
            : null;

    private static DateTimeOffset AsUtc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    /// <summary>
    /// True when the last check of these inputs failed waiting for something outside the credential (its administrator
    /// turning Ready, or passing a check with a fixed password after the server refused its login) that has happened
    /// since: checked now instead of when the backoff or interval ends. The admin's watch brings the credential here (see
    /// <c>AdminReferences.WaitingOn</c>). Compared with the exact time of the failed check, so a check that failed after
    /// that (for another cause, or with the admin's login refused again) waits out its backoff or interval and cannot loop.
    /// </summary>
    private static bool WaitIsOver<T>(T credential, ICredentialKind<T> kind, PreviousCheck previous, string revision)
        where T : IKubernetesObject<V1ObjectMeta> =>
        previous is { Succeeded: false, Reason: { } reason, LastAttempted: { } failedAt }
        && previous.AttemptedRevision == revision
        && kind.Provisioning?.WaitOverSince(credential, reason) is { } over
        && over > failedAt;

    /// <summary>
    /// A failed check of these inputs that memory holds and the status does not (its write was lost, or undone by a pass
    /// that worked from an older copy) is shown from memory rather than repeated: a second refused login can lock the
    /// account, and without this the status would keep describing the check before it. Told by its time, not only its
    /// revision: a periodic check of unchanged inputs that found the login refused has the revision the status shows.
    /// </summary>
    private static void ShowUnwrittenFailure(PreviousCheck previous, string revision, ConditionSet conditions, CredentialStatus status)
    {
        if (previous is not { Succeeded: false, LastAttempted: { } at, Reason: { } reason } || previous.AttemptedRevision != revision
            || (status.AttemptedRevision == revision && status.LastAttempted is { } shown && shown >= StatusTime.Truncate(at.UtcDateTime)))
        {
            return;
        }

        status.AttemptedRevision = revision;
        status.LastAttempted = StatusTime.Truncate(at.UtcDateTime);
        conditions.Set(ConditionTypes.Validated, false, reason, previous.Message ?? $"the last check of these inputs failed ({reason})");
    }

    /// <summary>
    /// True when a successful check says exactly what the status already records for these inputs (same revision,
    /// reason, message and server version). A failure is never a confirmation: it is written at once.
    /// </summary>
    internal static bool ConfirmsStatus(ValidationOutcome outcome, string revision, k8s.Models.V1Condition? validated, CredentialStatus status) =>
        outcome.Succeeded
        && validated is { Status: "True" }
        && validated.Reason == outcome.Reason
        && validated.Message == Runtime.Status.Conditions.Fit(outcome.Message)
        && status.AttemptedRevision == revision
        && status.LastValidated is not null
        && status.LastAttempted == status.LastValidated
        && (outcome.ServerVersion is null || outcome.ServerVersion == status.ServerVersion);

    private async Task<ValidationOutcome> ValidateAsync<T>(T credential, ICredentialKind<T> kind, SourceValues values, CredentialStatus status,
        TimeSpan timeout, RunningCheck check, PublishTrial trial, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        // Only a credential whose user Passbox manages has an administrator session before its login; every
        // ClusterCredential has a provisioning step, most of them with nothing to do.
        var provisioning = kind.Provisioning;
        var managed = provisioning is not null && provisioning.Manages(credential);
        var budget = CheckBudget(timeout, managed);
        using var deadline = new CancellationTokenSource(budget, time);
        // The administrator's steps end only with the check's time (or the process): cut short for newer inputs, one
        // could stop between CREATE USER and the grants, with the user it created recorded nowhere.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(bounded.Token, check.Token);
        try
        {
            // A managed user whose last login was refused is repaired by the administrator before this check already.
            var repaired = managed && LastLoginRefused(status);

            // Inputs already superseded are not applied on the server at all.
            check.Token.ThrowIfCancellationRequested();

            // The new password is applied on the server before the login with it is checked, and published only after.
            if (provisioning is not null && await AdministerAsync(provisioning, credential, values, status, repaired, check, trial, bounded.Token) is { } refused)
            {
                return refused;
            }

            var outcome = await StopWaitingAt(kind.ValidateAsync(credential, values, LoginToken()), LoginToken());
            if (outcome.Reason == ValidationReasons.AuthenticationFailed && managed && !repaired && provisioning is not null)
            {
                // A managed user whose login is refused was dropped or changed behind Passbox's back (a periodic check
                // skips the administrator while nothing changed): repair it now, once, rather than an interval later.
                if (await AdministerAsync(provisioning, credential, values, status, loginRefused: true, check, trial, bounded.Token) is { } failed)
                {
                    return failed;
                }

                repaired = true;
                outcome = await StopWaitingAt(kind.ValidateAsync(credential, values, LoginToken()), LoginToken());
            }

            // Refused right after a repair: another administrator session would set the same password again. Say so, and
            // wait like any refused login (an interval, or a change of the inputs).
            return outcome.Reason == ValidationReasons.AuthenticationFailed && repaired ? StillRefusedAfterRepair(outcome) : outcome;
        }
        catch (Exception) when (check.IsSuperseded && !ct.IsCancellationRequested)
        {
            // Cut short for newer inputs: however the driver reacted to it, nothing of this check is reported.
            throw new CheckSupersededException();
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return ValidationOutcome.Failure(ValidationReasons.Timeout, TimeoutMessage(timeout, managed));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Exception messages of drivers can echo connection details; log only the type and where it came from.
            LogUnexpected(logger, credential.Metadata.NamespaceProperty, credential.Metadata.Name, e.GetType().FullName ?? e.GetType().Name, e.StackTrace);
            return ValidationOutcome.Failure(ValidationReasons.Unreachable, $"the check failed unexpectedly ({e.GetType().Name}); see the operator log");
        }

        // Once the administrator changed the user, the login that proves it is waited for too (see RunningCheck.Keep).
        CancellationToken LoginToken() => check.Kept ? bounded.Token : guard.Token;
    }

    /// <summary>
    /// The administrator's step. One that records something in the status (the user it created, the password it set,
    /// the grants it applied) keeps the check from being superseded: dropped with the check, that record would be lost
    /// while the server holds the change, and the next pass would take the user Passbox just created for someone
    /// else's (<c>UserExists</c>) once the password Secret changed. Such a check ends and is reported as any other.
    /// </summary>
    private static async Task<ValidationOutcome?> AdministerAsync<T>(ICredentialProvisioning<T> provisioning, T credential, SourceValues values,
        CredentialStatus status, bool loginRefused, RunningCheck check, PublishTrial trial, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        if (!provisioning.Manages(credential))
        {
            // Nothing to apply (most ClusterCredentials): no status to compare on the way of every check.
            return await provisioning.ApplyAsync(credential, values, status, loginRefused, trial, ct);
        }

        var before = KubernetesJson.Serialize(status);
        var failure = await provisioning.ApplyAsync(credential, values, status, loginRefused, trial, ct);
        if (KubernetesJson.Serialize(status) != before)
        {
            check.Keep();
        }

        return failure;
    }

    /// <summary>
    /// Waits for a login until <paramref name="token"/> says to stop (newer inputs, or the check's time is up), whether or
    /// not the connector listens: a driver may not in every phase (MySqlConnector reading a handshake that never comes
    /// waits for its own connect timeout). The login left behind only reads, and ends by its own timeout; the
    /// administrator's steps, which change the server, are always waited for, so two never overlap.
    /// </summary>
    private static async Task<ValidationOutcome> StopWaitingAt(Task<ValidationOutcome> login, CancellationToken token)
    {
        try
        {
            return await login.WaitAsync(token);
        }
        catch (OperationCanceledException) when (!login.IsCompleted)
        {
            _ = login.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>
    /// The last check's login was refused: the user's, or the administrator's, which may have come in the middle of
    /// repairing a refused login of the user (and was reported as the user's refusal before the two were told apart).
    /// </summary>
    private static bool LastLoginRefused(CredentialStatus status) =>
        status.Conditions?.Find(c => c.Type == ConditionTypes.Validated)?.Reason is ValidationReasons.AuthenticationFailed or ValidationReasons.AdminAuthenticationFailed;

    internal static ValidationOutcome StillRefusedAfterRepair(ValidationOutcome outcome) => ValidationOutcome.Failure(
        ValidationReasons.AuthenticationFailed,
        $"{outcome.Message.TrimEnd().TrimEnd('.')}. The administrator had just set this user's password and privileges, and the " +
        "login is still refused, so the server refuses it for a reason the administrator does not repair: a locked or expired " +
        "account, another account of this user name that the server matches first (a more specific host), or an authentication " +
        "plugin or proxy in between. Fix that on the server; the next check runs after validation.interval, or at once when the " +
        "spec or a source Secret changes");

    /// <summary>
    /// How long a whole check may run before it is abandoned: the credential's timeout (twice for a managed user,
    /// whose administrator session comes first and gets its own share) plus a grace for the connector's own timeout
    /// to fire first and report something more precise.
    /// </summary>
    internal static TimeSpan CheckBudget(TimeSpan timeout, bool provisioned) => (provisioned ? timeout * 2 : timeout) + TimeoutGrace;

    /// <summary>Names the time that actually ran out, and how it follows from validation.timeout.</summary>
    internal static string TimeoutMessage(TimeSpan timeout, bool provisioned) =>
        $"the check did not finish within {Seconds(CheckBudget(timeout, provisioned))} " +
        $"(validation.timeout {Seconds(timeout)}{(provisioned ? " for the administrator and again for the login" : "")}, " +
        $"plus {Seconds(TimeoutGrace)} grace)";

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "s";

    /// <summary>
    /// The Secret the credential asks for, or why it cannot be built. Building depends only on the spec and the source
    /// Secrets, whose changes bring the credential back, so a failure is reported once as a condition instead of thrown
    /// out of every reconcile with no status written.
    /// </summary>
    private (SecretPayload? Payload, string? Problem) BuildSecret<T>(T credential, ICredentialKind<T> kind, SourceValues values)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        try
        {
            return (kind.BuildSecret(credential, values), null);
        }
        catch (UnbuildableSecretException e)
        {
            return (null, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A library's message can quote its input (a URL with a token in it): the log gets the type and where.
            LogUnbuildable(logger, credential.Metadata.NamespaceProperty, credential.Metadata.Name, e.GetType().FullName ?? e.GetType().Name, e.StackTrace);
            return (null, $"the spec asks for a Secret that cannot be built ({e.GetType().Name}); see the operator log");
        }
    }

    /// <summary>The check passed but its Secret cannot be built: the last good Secret stays, the conditions say why.</summary>
    private async Task ReportUnbuildableAsync<T>(T credential, ConditionSet conditions, CredentialStatus status, string problem, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var message = status.PublishedRevision is null
            ? $"{problem}. Nothing is published until the spec is fixed"
            : $"{problem}. Secret {status.SecretName} from the last good spec stays until it is fixed";
        var already = conditions.Says(ConditionTypes.SecretSynced, ConditionReasons.InvalidSpec, message);
        conditions.Set(ConditionTypes.SecretSynced, false, ConditionReasons.InvalidSpec, message);
        conditions.Set(ConditionTypes.Ready, false, ConditionReasons.InvalidSpec, message);
        if (!already)
        {
            await events.WarningAsync(credential, ConditionReasons.InvalidSpec, message, ct);
        }
    }

    /// <summary>Publishes the Secret and restarts the workloads owed a restart; returns when to retry a failed restart.</summary>
    private async Task<TimeSpan?> PublishAsync<T>(T credential, SecretPayload payload, SourceValues sources, string revision, ConditionSet conditions,
        CredentialStatus status, PassNotices notices, bool managed, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var meta = credential.Metadata;
        var owner = Owner(credential);
        // New inputs (a new password) whose write changes the published data owe the opted-in workloads a restart. The
        // status records that debt only at the end of the pass, so a pass that ends between the Secret write and the
        // status write (a crash, lost leadership, a cancelled reconcile) would leave the next one finding the Secret up
        // to date and owing nothing. So the write that changes the data also marks the Secret with the revision
        // (ApiGroup.RestartPendingAnnotation), in the same request, and the mark comes off once the restart went through:
        // no request more on any pass that restarts nothing, one per rotation. A repaired hand edit restarts nothing.
        var rotation = IsRotation(status, revision);
        var restartMark = RestartMark(status, revision);
        var key = CheckMemory.KeyOf(credential);
        var inputs = Inputs(credential, revision);
        var writeInputs = WriteInputs(credential, revision, payload.Name);

        // A write refused for a cause fixed elsewhere is not tried again before its backoff ends, whatever brought the
        // credential here (a check, a user's change): the refusal is shown again and the retry stays where it was.
        if (refusals.Waiting(key, RefusedWrite.GeneratedSecret, writeInputs) is { } waiting)
        {
            await ReportRejectedAsync(credential, conditions, new SecretRefusalReport(waiting.Reason, waiting.Message, FixedElsewhere: true), ct);
            return waiting.Remaining;
        }

        PublishResult result;
        try
        {
            // Shown published under this name: a Secret naming this credential that the status does not show was not
            // necessarily written by Passbox, and is cleaned before the credential goes into it.
            var published = status.PublishedRevision is not null && status.SecretName == payload.Name;
            result = await publisher.PublishAsync(owner, meta.NamespaceProperty, payload, published, restartMark, ct);
        }
        catch (HttpOperationException e) when (SecretWriteRefusal.IsRefusal(e))
        {
            // The same write would be refused again: say why instead of retrying with backoff for ever, with no status.
            // An invalid or too large Secret waits for an edit of the spec or of a source Secret, which brings the
            // credential back; a refusal by RBAC, a quota, an admission policy or a webhook that is down is fixed
            // elsewhere, so it is tried again by itself, less often the longer it lasts.
            var refused = await DescribeRefusalAsync(e, meta.NamespaceProperty, payload, sources, ct);
            await ReportRejectedAsync(credential, conditions, refused, ct);
            if (!refused.FixedElsewhere)
            {
                refusals.Reset(key, RefusedWrite.GeneratedSecret);
                return null;
            }

            return refusals.Refused(key, RefusedWrite.GeneratedSecret, writeInputs, refused.Reason, refused.Message);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // No answer on the write (a 5xx, the API server not reached or not in time). It used to fail the pass with no
            // status: what the check did was recorded nowhere, and a managed user's new password, set on the server, was
            // set again by the next pass, which a Secret still failing to be written failed the same way, with nothing
            // said. Now the check is recorded, so the next pass only writes the Secret, and the conditions say why it
            // still holds what it held; the password itself is in its password Secret, written before it was set.
            var unanswered = UnansweredWrite(payload.Name, TrialFailure(e), managed && rotation);
            await ReportRejectedAsync(credential, conditions, unanswered, ct);
            return refusals.Refused(key, RefusedWrite.GeneratedSecretUnanswered, writeInputs, unanswered.Reason, unanswered.Message);
        }

        refusals.Reset(key, RefusedWrite.GeneratedSecret);
        refusals.Reset(key, RefusedWrite.GeneratedSecretUnanswered);

        if (!result.Succeeded)
        {
            var wasConflict = conditions.Find(ConditionTypes.SecretSynced)?.Reason == ConditionReasons.SecretConflict;
            conditions.Set(ConditionTypes.SecretSynced, false, ConditionReasons.SecretConflict, result.Message);
            conditions.Set(ConditionTypes.Ready, false, ConditionReasons.SecretConflict, result.Message);
            if (!wasConflict)
            {
                await events.WarningAsync(credential, ConditionReasons.SecretConflict, result.Message, ct);
            }

            return null;
        }

        // spec.secret.name changed (now or earlier): Secrets under old names go once nothing uses them. The usage index
        // wakes this credential when a user of one goes away.
        var kept = await retired.RetireAsync(meta.NamespaceProperty, meta.Uid, payload.Name, status.SecretName, ct);

        var dataChanged = result.Outcome == PublishOutcome.Updated && rotation;

        // A mark whose revision the status does not show published is left by a pass that ended before its status
        // write: its restart is owed. One the status shows published is this process's own, already settled, seen
        // before the cache caught up with its removal (that status write came after the restart went through or was
        // recorded as owed in status.restartPending).
        var unsettled = result.RestartMark is { } mark && mark != status.PublishedRevision;

        // Created under the name it was published under before: the Secret had been deleted while the credential lives.
        var recreated = result.Outcome == PublishOutcome.Created && status.PublishedRevision is not null && status.SecretName == payload.Name;
        status.SecretName = payload.Name;
        status.PublishedRevision = revision;
        var keptNote = string.Concat(kept.Select(secret => "; " + secret.Describe()));
        conditions.Set(ConditionTypes.SecretSynced, true, ConditionReasons.Synced, $"Secret {payload.Name} matches the credential{keptNote}");
        var validated = conditions.Find(ConditionTypes.Validated)!;
        conditions.Set(ConditionTypes.Ready, true, validated.Reason, $"Secret {payload.Name} is ready: {validated.Message}");
        if (result.Wrote)
        {
            var check = notices.TakeCheckSucceeded();
            var written = recreated ? $"Secret {payload.Name} recreated: it had been deleted while its credential lives" : result.Message;
            var message = check is { } told ? $"{written} after a successful check: {told.Message}" : written;
            var reason = recreated || result.Repaired is not null ? "SecretRepaired"
                : result.Outcome == PublishOutcome.Created ? "SecretCreated"
                : "SecretUpdated";
            await events.NormalAsync(credential, reason, message, ct);
        }

        if (dataChanged || unsettled)
        {
            // Owed until it succeeds: recorded in the status, so a failed restart is retried on later reconciles.
            status.RestartPending = revision;
        }

        var owed = status.RestartPending is not null;
        var settlement = await restarter.SettleAsync(credential, meta.NamespaceProperty, payload.Name, status, fresh: dataChanged, ct);
        if (settlement.Report is { } report)
        {
            DescribeRestart(conditions, report, payload.Name);
        }

        if (owed && status.RestartPending is null && result.RestartMark is not null)
        {
            // Settled: the mark goes before the status says so. Should this fail, the pass fails with it, and the next
            // one finds the mark again and restarts once more, as after any failed attempt.
            await publisher.ClearRestartMarkAsync(meta.NamespaceProperty, payload.Name, ct);
        }

        // Users not known yet: the namespace's listing ends within moments, with no event for this credential; one that
        // fails (RBAC) and a refused deletion are fixed elsewhere, with no event for this credential either: tried again
        // by itself, less often the longer it lasts. Unlike the Secret's write, a pass before then is not held back: it
        // may have come because the last user of another old Secret went away, which is deleted at once.
        TimeSpan? retiredRetry = null;
        if (kept.Any(secret => secret.Users is null && secret.UsersUnknownBecause is null))
        {
            retiredRetry = ShortestRecheck;
        }
        else if (kept.Any(secret => secret.Users is null || secret.DeletionRefused is not null))
        {
            retiredRetry = refusals.Refused(key, RefusedWrite.RetiredSecret, inputs, ConditionReasons.Synced, keptNote);
        }
        else
        {
            refusals.Reset(key, RefusedWrite.RetiredSecret);
        }

        return Earliest(settlement.RetryAfter, retiredRetry);
    }

    /// <summary>
    /// Before the administrator sets a new password, the write that will publish it, dry (see <see cref="PublishTrial"/>):
    /// the same Secret, owner, restart mark and refused-write backoff as <see cref="PublishAsync"/>. A refusal fixed
    /// elsewhere is not asked again before its retry is due, whatever brought the credential here; one that only an edit
    /// fixes is asked again on the next pass (which only an event brings). A Secret that cannot be built is reported after
    /// the check, as always.
    /// Asked with the check's token (<paramref name="ct"/>, cancelled when its time is up) and the pass's own (<paramref name="pass"/>:
    /// shutdown, lost leadership), to tell a dry run that did not answer in time from one nobody waits for any more.
    /// </summary>
    private async Task<PublishTrial.Answer> RehearsePublishAsync<T>(T credential, ICredentialKind<T> kind, SourceValues sources, string revision,
        CredentialStatus status, CancellationToken ct, CancellationToken pass)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        if (BuildSecret(credential, kind, sources).Payload is not { } payload)
        {
            return PublishTrial.Answer.Taken;
        }

        var namespaceName = credential.Metadata.NamespaceProperty;
        var key = CheckMemory.KeyOf(credential);
        var writeInputs = WriteInputs(credential, revision, payload.Name);
        if (refusals.Waiting(key, RefusedWrite.GeneratedSecret, writeInputs) is { } waiting)
        {
            return new PublishTrial.Answer(new SecretRefusalReport(waiting.Reason, waiting.Message, FixedElsewhere: true), waiting.Remaining);
        }

        try
        {
            await publisher.RehearseAsync(Owner(credential), namespaceName, payload, RestartMark(status, revision), ct);
        }
        catch (HttpOperationException e) when (SecretWriteRefusal.IsRefusal(e))
        {
            var refused = await DescribeRefusalAsync(e, namespaceName, payload, sources, ct);
            if (!refused.FixedElsewhere)
            {
                refusals.Reset(key, RefusedWrite.GeneratedSecret);
                return new PublishTrial.Answer(refused, null);
            }

            return new PublishTrial.Answer(refused, refusals.Refused(key, RefusedWrite.GeneratedSecret, writeInputs, refused.Reason, refused.Message));
        }

        catch (Exception e) when (e is HttpOperationException or HttpRequestException || (e is OperationCanceledException && !pass.IsCancellationRequested))
        {
            // No answer on the write (the API server failed, was not reached, or not within the check's time): what it would
            // say is unknown, so the password stays as it is. Nobody logged in either, and the published password still
            // works: as after a refusal fixed elsewhere, no check is recorded (Validated keeps the last one), SecretSynced
            // and Ready say why, and the dry run is asked again with the refused write's backoff, not at every pass.
            var failed = SecretRefusalReport.TrialFailed(payload.Name, TrialFailure(e));
            return new PublishTrial.Answer(failed, refusals.Refused(key, RefusedWrite.GeneratedSecret, writeInputs, failed.Reason, failed.Message));
        }

        // Taken: the write that follows the check is not held back by an earlier refusal of these inputs.
        refusals.Reset(key, RefusedWrite.GeneratedSecret);
        return PublishTrial.Answer.Taken;
    }

    /// <summary>
    /// The generated Secret's write after a passed check got no answer: what the Secret still holds, and when it is tried
    /// again. Worded the same on every retry, so a lasting failure is one Warning.
    /// </summary>
    private static SecretRefusalReport UnansweredWrite(string secretName, string failure, bool newPasswordSet) => new(ConditionReasons.SecretWriteFailed,
        (newPasswordSet
            ? $"the new password is set on the server and logs in, but writing Secret {secretName} failed ({failure}), so the Secret still holds " +
              "the previous password, which the server no longer takes (the new one is kept in the user's password Secret)"
            : $"the check passed, but writing Secret {secretName} failed ({failure}), so the Secret still holds what it held before") +
        $"; tried again within {(int)ValidationPlanner.TransientBase.TotalSeconds}s, then less often, up to every {(int)ValidationPlanner.TransientCap.TotalMinutes} min",
        FixedElsewhere: true);

    /// <summary>Why a dry run got no answer on the write; never the response body, which may quote the Secret.</summary>
    private static string TrialFailure(Exception e) => e switch
    {
        HttpOperationException http => $"the API server answered {(int)http.Response.StatusCode} {http.Response.StatusCode}",
        HttpRequestException request => $"the API server could not be reached: {request.HttpRequestError}",
        _ => "the API server did not answer in time",
    };

    /// <summary>
    /// A refused write of the Secret, described. A policy's message may quote the object being replaced (oldObject.data)
    /// as well as the one written: the values the Secret holds now (the password before a rotation or a source change)
    /// are cut out too. Read here, on this rare path only, because the cache keeps digests of them, not the values.
    /// </summary>
    private async Task<SecretRefusalReport> DescribeRefusalAsync(HttpOperationException e, string namespaceName, SecretPayload payload, SourceValues sources,
        CancellationToken ct)
    {
        var held = await publisher.HeldValuesAsync(namespaceName, payload.Name, ct);
        var refusal = SecretWriteRefusal.From(e, payload, sources.All.Where(v => v.Found).Select(v => v.Text), held);
        if (held is null)
        {
            // Those values unknown, the server's words might quote one: the refusal is told by its code and cause only.
            refusal = refusal with { Message = $"HTTP {(int)refusal.StatusCode} (the API server's message is left out: Secret {payload.Name} could not be read to cut the values it holds out of it)" };
        }

        return SecretRefusalReport.Describe(refusal, namespaceName, payload.Name);
    }

    private static V1OwnerReference Owner(IKubernetesObject<V1ObjectMeta> credential) => new()
    {
        ApiVersion = credential.ApiVersion,
        Kind = credential.Kind,
        Name = credential.Metadata.Name,
        Uid = credential.Metadata.Uid,
        BlockOwnerDeletion = true,
        Controller = true,
    };

    /// <summary>New inputs after a published Secret: a changed password, whose publishing owes opted-in workloads a restart.</summary>
    private static bool IsRotation(CredentialStatus status, string revision) => status.PublishedRevision is not null && status.PublishedRevision != revision;

    /// <summary>The restart mark a write that changes the Secret's data carries (see <see cref="PublishAsync"/>).</summary>
    private static string? RestartMark(CredentialStatus status, string revision) =>
        IsRotation(status, revision) || status.RestartPending is not null ? revision : null;

    /// <summary>
    /// What a refused write of the Secret is held back for: the credential's inputs, and the Secret as found, which is an
    /// input of its write too. Deleted or changed since the refusal (by hand, by anyone), it may now take the write (a
    /// policy that refuses updates but not creates) or need none (a hand edit undone): held back, workloads would go
    /// without the Secret, or Ready stay False over a Secret in sync, for up to LongestRetry.
    /// </summary>
    private string WriteInputs(IKubernetesObject<V1ObjectMeta> credential, string revision, string secretName) =>
        $"{Inputs(credential, revision)}/{publisher.CachedState(credential.Metadata.NamespaceProperty, secretName)}";

    /// <summary>
    /// What a credential's refused writes are retried for at once when it changes: its spec (the generation) and the
    /// versions of its source Secrets (in <paramref name="revision"/>). An edit is the user's fix.
    /// </summary>
    private static string Inputs(IKubernetesObject<V1ObjectMeta> credential, string revision) => $"{credential.Metadata.Generation}/{revision}";

    /// <summary>
    /// What the last restart attempt did, in the WorkloadsRestarted condition: it stays until the next change of the
    /// Secret's data, so a workload that keeps the old Secret (paused, OnDelete) stays named until then.
    /// </summary>
    private static void DescribeRestart(ConditionSet conditions, Provisioning.RestartReport report, string secretName)
    {
        if (report.Empty)
        {
            conditions.Remove(ConditionTypes.WorkloadsRestarted);
            return;
        }

        var reason = !report.Complete ? ConditionReasons.RestartFailed
            : report.Deferred.Count > 0 ? ConditionReasons.RestartDeferred
            : ConditionReasons.Restarted;
        conditions.Set(ConditionTypes.WorkloadsRestarted, reason == ConditionReasons.Restarted, reason, report.Describe(secretName));
    }

    private async Task ReportRejectedAsync<T>(T credential, ConditionSet conditions, SecretRefusalReport report, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var already = conditions.Says(ConditionTypes.SecretSynced, report.Reason, report.Message);
        conditions.Set(ConditionTypes.SecretSynced, false, report.Reason, report.Message);
        conditions.Set(ConditionTypes.Ready, false, report.Reason, report.Message);
        if (!already)
        {
            await events.WarningAsync(credential, report.Reason, report.Message, ct);
        }
    }

    private static void DescribeHeldBack(ConditionSet conditions, CredentialStatus status)
    {
        var validated = conditions.Find(ConditionTypes.Validated);
        var reason = validated?.Reason ?? ConditionReasons.Progressing;
        var why = validated?.Message ?? "waiting for the first check";
        conditions.Set(ConditionTypes.SecretSynced, false, ConditionReasons.WaitingForValidation, status.PublishedRevision is null
            ? "nothing is published until a check succeeds"
            : $"keeping Secret {status.SecretName} from the last successful check; the current inputs did not validate");
        conditions.Set(ConditionTypes.Ready, false, reason, why);
    }

    /// <summary>A problem found before any check (the generated password Secret is taken, the name too long).</summary>
    private async Task ReportFailureAsync<T>(T credential, ConditionSet conditions, CredentialStatus status, ValidationOutcome failure, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var already = conditions.Says(ConditionTypes.Validated, failure.Reason, failure.Message);
        conditions.Set(ConditionTypes.Validated, false, failure.Reason, failure.Message);
        DescribeHeldBack(conditions, status);
        if (!already)
        {
            await events.WarningAsync(credential, failure.Reason, failure.Message, ct);
        }
    }

    private async Task ReportMissingSourcesAsync<T>(T credential, ConditionSet conditions, CredentialStatus status, string problems, CancellationToken ct)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var already = conditions.Says(ConditionTypes.Validated, ConditionReasons.SourceSecretMissing, problems);
        conditions.Set(ConditionTypes.Validated, false, ConditionReasons.SourceSecretMissing, problems);
        conditions.Set(ConditionTypes.SecretSynced, false, ConditionReasons.SourceSecretMissing, status.PublishedRevision is null
            ? $"nothing is published until the source Secret holds the value (see Validated: {problems}) and a check succeeds"
            : $"keeping Secret {status.SecretName} from the last successful check until the source Secret holds the value again (see Validated: {problems})");
        conditions.Set(ConditionTypes.Ready, false, ConditionReasons.SourceSecretMissing, problems);
        if (!already)
        {
            await events.WarningAsync(credential, ConditionReasons.SourceSecretMissing, problems, ct);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Check of {Namespace}/{Name} failed unexpectedly with {ExceptionType} at {StackTrace}")]
    private static partial void LogUnexpected(ILogger logger, string @namespace, string name, string exceptionType, string? stackTrace);

    [LoggerMessage(Level = LogLevel.Error, Message = "Building the Secret of {Namespace}/{Name} failed unexpectedly with {ExceptionType} at {StackTrace}")]
    private static partial void LogUnbuildable(ILogger logger, string @namespace, string name, string exceptionType, string? stackTrace);
}
