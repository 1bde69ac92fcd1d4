namespace Passbox.Operator.Runtime.Watching;

public enum InformerEventType
{
    Added,
    Updated,
    Deleted,
}

/// <summary>
/// A change the informer applied to its cache. <see cref="Old"/> is the previously cached object for
/// updates; for deletes <see cref="Current"/> is the last known state. <see cref="FromRelist"/> marks a change
/// found by comparing a fresh list with the cache (after a 410): it may sum up several writes, ours and others'.
/// </summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Current, T? Old = null, bool FromRelist = false)
    where T : class;
