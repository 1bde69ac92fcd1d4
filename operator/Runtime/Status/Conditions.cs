using k8s.Models;

namespace Passbox.Operator.Runtime.Status;

/// <summary>
/// Condition list helpers with Kubernetes semantics (as kubebuilder's meta.SetStatusCondition):
/// conditions are keyed on <c>type</c>, and <c>lastTransitionTime</c> moves only when the status
/// flips, so an unchanged outcome yields an unchanged list and therefore no status write.
/// </summary>
public static class Conditions
{
    public const string True = "True";
    public const string False = "False";
    public const string Unknown = "Unknown";

    /// <summary>
    /// The longest message a condition holds: the CRDs' <c>maxLength</c>. The API server refuses a whole status patch
    /// with one longer message (422), so the status would never be written at all.
    /// </summary>
    public const int MaxMessageLength = 32768;

    /// <summary>Ends a message cut to <see cref="MaxMessageLength"/>, so nobody takes the end for the whole.</summary>
    public const string TruncationMark = " … (message truncated)";

    /// <summary>Sets condition <paramref name="type"/> and returns whether anything changed.</summary>
    public static bool Set(
        IList<V1Condition> conditions,
        string type,
        string status,
        string reason,
        string message,
        long? observedGeneration,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentException.ThrowIfNullOrEmpty(status);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        ArgumentNullException.ThrowIfNull(time);

        message = Fit(message);
        var existing = Find(conditions, type);
        if (existing is null)
        {
            conditions.Add(new V1Condition
            {
                Type = type,
                Status = status,
                Reason = reason,
                Message = message,
                ObservedGeneration = observedGeneration,
                LastTransitionTime = Now(time),
            });
            return true;
        }

        var changed = false;
        if (existing.Status != status)
        {
            existing.Status = status;
            existing.LastTransitionTime = Now(time);
            changed = true;
        }

        if (existing.Reason != reason)
        {
            existing.Reason = reason;
            changed = true;
        }

        if (existing.Message != message)
        {
            existing.Message = message;
            changed = true;
        }

        if (existing.ObservedGeneration != observedGeneration)
        {
            existing.ObservedGeneration = observedGeneration;
            changed = true;
        }

        return changed;
    }

    /// <summary>
    /// The message as a condition holds it: cut to <see cref="MaxMessageLength"/> with <see cref="TruncationMark"/> at the
    /// end (never between the halves of a surrogate pair). Compare with this, not the raw text, to tell whether a
    /// condition already says something.
    /// </summary>
    public static string Fit(string? message)
    {
        message ??= "";
        if (message.Length <= MaxMessageLength)
        {
            return message;
        }

        var keep = MaxMessageLength - TruncationMark.Length;
        if (char.IsHighSurrogate(message[keep - 1]))
        {
            keep--;
        }

        return string.Concat(message.AsSpan(0, keep), TruncationMark);
    }

    public static V1Condition? Find(IEnumerable<V1Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(condition => condition.Type == type);

    public static bool IsTrue(IEnumerable<V1Condition>? conditions, string type) => Find(conditions, type)?.Status == True;

    public static bool Remove(IList<V1Condition> conditions, string type)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        return Find(conditions, type) is { } existing && conditions.Remove(existing);
    }

    /// <summary>Copies conditions so a desired status can be built without touching the cached object.</summary>
    public static List<V1Condition> Copy(IEnumerable<V1Condition>? conditions) =>
        [.. (conditions ?? []).Select(condition => new V1Condition
        {
            Type = condition.Type,
            Status = condition.Status,
            Reason = condition.Reason,
            Message = condition.Message,
            ObservedGeneration = condition.ObservedGeneration,
            LastTransitionTime = condition.LastTransitionTime,
        })];

    /// <summary>API servers store condition times with second precision; matching it keeps comparisons exact.</summary>
    private static DateTime Now(TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
    }
}
