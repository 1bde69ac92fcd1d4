using k8s.Models;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Conditions keyed on type. Setting a condition keeps its <c>lastTransitionTime</c> unless the status flips, so an
/// unchanged object produces an identical status and the status writer sends nothing.
/// </summary>
public sealed class ConditionSet(IEnumerable<V1Condition>? existing, long? generation, TimeProvider time)
{
    private readonly List<V1Condition> conditions = (existing ?? []).Select(Copy).ToList();

    public IReadOnlyList<V1Condition> Items => conditions;

    public V1Condition? Find(string type) => conditions.Find(c => c.Type == type);

    public bool IsTrue(string type) => Find(type)?.Status == "True";

    public void Set(string type, bool? status, string reason, string message)
    {
        var statusText = status switch { true => "True", false => "False", null => "Unknown" };
        var current = Find(type);
        if (current is null)
        {
            conditions.Add(new V1Condition
            {
                Type = type,
                Status = statusText,
                Reason = reason,
                Message = message,
                ObservedGeneration = generation,
                LastTransitionTime = StatusTime.Now(time),
            });
            return;
        }

        if (current.Status != statusText)
        {
            current.LastTransitionTime = StatusTime.Now(time);
        }

        current.Status = statusText;
        current.Reason = reason;
        current.Message = message;
        current.ObservedGeneration = generation;
    }

    public void Remove(string type) => conditions.RemoveAll(c => c.Type == type);

    /// <summary>A stable order (Ready first) so that equal sets serialise equally.</summary>
    public List<V1Condition> ToList() => conditions
        .OrderBy(c => c.Type == "Ready" ? 0 : 1)
        .ThenBy(c => c.Type, StringComparer.Ordinal)
        .ToList();

    private static V1Condition Copy(V1Condition c) => new()
    {
        Type = c.Type,
        Status = c.Status,
        Reason = c.Reason,
        Message = c.Message,
        ObservedGeneration = c.ObservedGeneration,
        // Keep second precision: that is what the API server stores, so a round trip compares equal.
        LastTransitionTime = c.LastTransitionTime,
    };
}
