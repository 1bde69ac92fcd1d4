using k8s;
using k8s.Models;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>Kubernetes events about a credential. Messages are built from reasons and names, never from secrets.</summary>
public interface IEventSink
{
    Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct);

    Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct);
}
