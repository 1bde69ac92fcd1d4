namespace Passbox.Operator.Runtime.Watching;

public enum InformerEventType
{
    Added,
    Updated,
    Deleted,
}

/// <summary>
/// A change the informer applied to its cache. <see cref="Old"/> is the previously cached object for
/// updates; for deletes <see cref="Current"/> is the last known state.
/// </summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Current, T? Old = null)
    where T : class;
