using k8s.Models;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// A credential's conditions for one reconcile: a private copy of the stored list, changed through the runtime's
/// <see cref="Conditions"/> rules (<c>lastTransitionTime</c> moves only when the status flips), written back in a
/// stable order so an unchanged object produces an identical status and the status writer sends nothing.
/// </summary>
public sealed class ConditionSet(IEnumerable<V1Condition>? existing, long? generation, TimeProvider time)
{
    private readonly List<V1Condition> conditions = Conditions.Copy(existing);

    public V1Condition? Find(string type) => Conditions.Find(conditions, type);

    public bool IsTrue(string type) => Conditions.IsTrue(conditions, type);

    /// <summary>
    /// True when condition <paramref name="type"/> already has this reason and message, as it holds the message (cut to
    /// the CRD's limit): what was said once is not announced again.
    /// </summary>
    public bool Says(string type, string reason, string message) =>
        Find(type) is { } condition && condition.Reason == reason && condition.Message == Conditions.Fit(message);

    public void Set(string type, bool? status, string reason, string message) =>
        Conditions.Set(conditions, type, status switch { true => Conditions.True, false => Conditions.False, null => Conditions.Unknown }, reason, message, generation, time);

    public void Remove(string type) => Conditions.Remove(conditions, type);

    /// <summary>
    /// Says that condition <paramref name="type"/>, unchanged, holds for the current generation: its
    /// <c>observedGeneration</c> moves up, nothing else (no transition). Without this, an edit that asks for no new
    /// check (the description, the Secret's labels) leaves the condition marked as out of date for ever, and
    /// <c>kubectl wait --for=condition=...</c>, which compares it with <c>metadata.generation</c>, never returns.
    /// </summary>
    public void Observe(string type)
    {
        if (Find(type) is { } condition && condition.ObservedGeneration != generation)
        {
            condition.ObservedGeneration = generation;
        }
    }

    /// <summary>Ready first, then by type.</summary>
    public List<V1Condition> ToList() => conditions
        .OrderBy(c => c.Type == "Ready" ? 0 : 1)
        .ThenBy(c => c.Type, StringComparer.Ordinal)
        .ToList();
}
