using System.Collections.Concurrent;
using System.Globalization;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>The writes of a credential whose refusal is fixed outside Passbox; each backs off on its own.</summary>
public enum RefusedWrite
{
    /// <summary>The generated Secret workloads mount.</summary>
    GeneratedSecret,

    /// <summary><c>&lt;credential&gt;-generated-password</c>, which keeps a password Passbox generated.</summary>
    GeneratedPassword,

    /// <summary>The deletion of an unused Secret under an earlier <c>spec.secret.name</c>.</summary>
    RetiredSecret,

    /// <summary>
    /// The generated Secret's write after a check passed, which got no answer (a 5xx, the API server not reached or not in
    /// time): tried again from <see cref="ValidationPlanner.TransientBase"/> up to <see cref="ValidationPlanner.TransientCap"/>,
    /// as an unreachable server is, since workloads may be refused meanwhile (a managed user's password already changed).
    /// </summary>
    GeneratedSecretUnanswered,
}

/// <summary>
/// When a write the API server refused for a cause fixed outside the credential (RBAC, a ResourceQuota, an admission
/// policy, a webhook that is down) is tried again. No event tells the operator that such a cause is gone, so the write is
/// retried by itself; at a fixed minute, a thousand credentials in a namespace whose quota is full sent a thousand
/// refused writes at the same moment every minute, for as long as it stayed full. Now the first retry comes within
/// <see cref="FirstRetry"/> (never later than before), and each further refusal in a row doubles the wait up to
/// <see cref="LongestRetry"/>, with the jitter of checks (<see cref="ValidationPlanner.Backoff(int, TimeSpan, TimeSpan, double)"/>),
/// seeded by the object's uid and the time of the refusal: credentials refused together retry apart, and the due time is
/// fixed when the refusal happens, so every later reconcile of the object finds the same one. An edit of the
/// credential's inputs (its spec, the versions of its source Secrets) is the user's fix: it is tried at once and starts
/// the count again, as does a write that goes through. So is a change of the Secret to be written (its callers put its
/// uid and resourceVersion in the inputs): deleted or edited by hand, it may take the write now or need none. Memory
/// only: after a restart the first retry is within a minute again, which costs one refused write per credential.
/// </summary>
public sealed class RefusedWriteBackoff(TimeProvider time)
{
    /// <summary>The longest wait after a first refusal: as long as the fixed retry before it, so a one-off refusal heals as soon.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The longest wait between two retries (1, 2, 4, 8, then 16 minutes). Nothing but this retry notices a raised quota
    /// or a granted role, so it bounds how long the fix takes to show, and it stays near the 15 minutes after which the
    /// chart's not-ready alert fires; a thousand stuck credentials then send about one refused write a second (the
    /// jitter spreads them over 8–16 minutes), where the fixed minute sent a thousand at once.
    /// </summary>
    public static readonly TimeSpan LongestRetry = TimeSpan.FromMinutes(16);

    /// <summary>The most refusals counted; far past the cap, and no overflow for a write refused for ever.</summary>
    private const int MaxCount = 64;

    private readonly ConcurrentDictionary<(string Key, RefusedWrite Write), Refusal> refusals = new();

    /// <summary>What a condition says about the retry; <paramref name="edit"/> names the edits that are tried at once.</summary>
    public static string Schedule(string edit) =>
        $"tried again within {Minutes(FirstRetry)}, then less often (at most every {Minutes(LongestRetry)}); {edit} is tried at once";

    /// <summary>
    /// While the last refusal of this write for these <paramref name="inputs"/> is not due again: how long it still waits
    /// and what the refusal said, so the pass shows it again instead of writing. Null when the write is to be tried now:
    /// none was refused, its retry is due, or the inputs changed since (the count starts again).
    /// </summary>
    public RefusedWriteWait? Waiting(string key, RefusedWrite write, string inputs)
    {
        if (!refusals.TryGetValue((key, write), out var last))
        {
            return null;
        }

        if (last.Inputs != inputs)
        {
            refusals.TryRemove(KeyValuePair.Create((key, write), last));
            return null;
        }

        var now = time.GetUtcNow();
        return last.Due > now ? new RefusedWriteWait(last.Due - now, last.Reason, last.Message) : null;
    }

    /// <summary>
    /// Records a refusal of this write for these <paramref name="inputs"/> (<paramref name="reason"/> and
    /// <paramref name="message"/> as the condition says it); returns how long until it is tried again.
    /// </summary>
    public TimeSpan Refused(string key, RefusedWrite write, string inputs, string reason, string message)
    {
        var now = time.GetUtcNow();
        var refusal = refusals.AddOrUpdate(
            (key, write),
            static (entry, arg) => Refusal.First(entry, arg.Inputs, arg.Now, arg.Reason, arg.Message),
            static (entry, last, arg) => last.Inputs == arg.Inputs
                ? Refusal.After(last, entry, arg.Now, arg.Reason, arg.Message)
                : Refusal.First(entry, arg.Inputs, arg.Now, arg.Reason, arg.Message),
            (Inputs: inputs, Now: now, Reason: reason, Message: message));
        return refusal.Due - now;
    }

    /// <summary>The write went through, or was refused for a cause only an edit fixes: its next refusal is a first one.</summary>
    public void Reset(string key, RefusedWrite write) => refusals.TryRemove((key, write), out _);

    /// <summary>Forgets a deleted credential.</summary>
    public void Forget(string key)
    {
        foreach (var write in Enum.GetValues<RefusedWrite>())
        {
            refusals.TryRemove((key, write), out _);
        }
    }

    private static string Minutes(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min");

    /// <param name="Inputs">The credential's inputs the write was refused for.</param>
    /// <param name="Count">Refusals in a row of the same inputs.</param>
    /// <param name="Due">When the write is tried again, fixed when it was refused.</param>
    /// <param name="Reason">The refusal's reason, as its condition says it.</param>
    /// <param name="Message">The refusal's message, as its condition says it (without any Secret value).</param>
    private sealed record Refusal(string Inputs, int Count, DateTimeOffset Due, string Reason, string Message)
    {
        public static Refusal First((string Key, RefusedWrite Write) entry, string inputs, DateTimeOffset now, string reason, string message) =>
            new(inputs, 1, now + Wait(entry, 1, now), reason, message);

        public static Refusal After(Refusal last, (string Key, RefusedWrite Write) entry, DateTimeOffset now, string reason, string message)
        {
            var count = Math.Min(last.Count + 1, MaxCount);
            return last with { Count = count, Due = now + Wait(entry, count, now), Reason = reason, Message = message };
        }

        private static TimeSpan Wait((string Key, RefusedWrite Write) entry, int count, DateTimeOffset refusedAt) => entry.Write == RefusedWrite.GeneratedSecretUnanswered
            ? ValidationPlanner.Backoff(count, ValidationPlanner.TransientBase, ValidationPlanner.TransientCap, ValidationPlanner.StableFraction(entry.Key, refusedAt))
            : ValidationPlanner.Backoff(count, FirstRetry, LongestRetry, ValidationPlanner.StableFraction(entry.Key, refusedAt));
    }
}

/// <summary>A refused write not due again yet: how long it still waits, and what its refusal said.</summary>
public sealed record RefusedWriteWait(TimeSpan Remaining, string Reason, string Message);

/// <summary>
/// The credential a write is for: its key in memory (<see cref="CheckMemory.KeyOf"/>) and its inputs, whose change
/// retries a refused write at once.
/// </summary>
public sealed record RefusedWriteScope(string Key, string Inputs);
