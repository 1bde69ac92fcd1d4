using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// When a deletion that could not drop its user tries again. A refused administrator login waits the administrator's
/// validation interval, as any refused login does (see <c>AdminFailure</c>): tried every few seconds, it would trip the
/// server's lockout of the very account Passbox administers with. So does every other failure that only someone's fix
/// ends (a missing privilege, a protected user, an admin reference to another engine). Network failures and an
/// administrator that is not Ready yet back off exponentially with jitter, as checks do (<see cref="ValidationPlanner"/>);
/// the admin turning Ready also wakes the deletion at once (<c>AdminReferences.WaitingOn</c>), and so does an edit of the
/// credential (the force-delete annotation, a new deletionPolicy). The count of consecutive network failures lives in
/// memory: after a restart the backoff starts small again, which costs a few attempts against a server that is down.
/// </summary>
public sealed class ReleaseRetries(TimeProvider time)
{
    /// <summary>
    /// The wait after a failure that needs a fix when the administrator's interval says nothing: it is checked only on
    /// change (<c>0</c>) or unknown. A deletion must still end by itself once the cause is fixed.
    /// </summary>
    public static readonly TimeSpan IntervalWhenUnset = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, int> transientFailures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> adminLoginRefusals = new(StringComparer.Ordinal);

    /// <summary>
    /// When the last attempt to drop the user of the credential keyed <paramref name="key"/> was refused at the
    /// administrator's login, exactly; null when the last attempt failed otherwise, or none failed in this process. An
    /// admin credential that passed a check after that time holds a login that works: the drop is tried again at once
    /// (<c>AdminReferences.WaitingOn</c>), once per such check, instead of after the admin's interval.
    /// </summary>
    public DateTimeOffset? AdminLoginRefusedAt(string key) => adminLoginRefusals.TryGetValue(key, out var at) ? at : null;

    /// <summary>Records a failed attempt to drop the user of the credential keyed <paramref name="key"/>; returns when to try again.</summary>
    public TimeSpan After(string key, ReleaseResult failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var interval = failure.RetryInterval is { } set && set > TimeSpan.Zero ? set : IntervalWhenUnset;
        if (failure.Reason == Connectors.ValidationReasons.AdminAuthenticationFailed)
        {
            adminLoginRefusals[key] = time.GetUtcNow();
        }
        else
        {
            adminLoginRefusals.TryRemove(key, out _);
        }

        if (!ValidationPlanner.IsTransient(failure.Reason))
        {
            transientFailures.TryRemove(key, out _);
            return interval;
        }

        var failures = transientFailures.AddOrUpdate(key, 1, static (_, count) => count + 1);
        var cap = interval < ValidationPlanner.TransientCap ? interval : ValidationPlanner.TransientCap;
        return ValidationPlanner.Backoff(failures, cap, ValidationPlanner.StableFraction(key, time.GetUtcNow()));
    }

    /// <summary>Forgets a credential whose user was dropped (or kept), or that is gone.</summary>
    public void Forget(string key)
    {
        transientFailures.TryRemove(key, out _);
        adminLoginRefusals.TryRemove(key, out _);
    }

    /// <summary>Forgets every credential of <paramref name="primary"/> once it is gone, also one whose finalizer was removed by hand.</summary>
    public IDisposable ForgetDeleted<T>(IInformer<T> primary)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(primary);
        return primary.Subscribe(change =>
        {
            if (change.Type == InformerEventType.Deleted)
            {
                Forget(CheckMemory.KeyOf(change.Current));
            }
        });
    }
}
