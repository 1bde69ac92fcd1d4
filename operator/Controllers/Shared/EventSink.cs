using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Events;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>Controllers' events go through the runtime's recorder, which aggregates repeats.</summary>
public sealed class EventSink(IEventRecorder recorder) : IEventSink
{
    public Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct) =>
        recorder.RecordAsync(subject, EventType.Normal, reason, message, ct);

    public Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct) =>
        recorder.RecordAsync(subject, EventType.Warning, reason, message, ct);
}
