using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Events;

/// <summary>
/// Records core/v1 Events about an object. Reason is a PascalCase constant; message is free text that
/// the CALLER MUST SANITISE: never pass passwords, tokens, kubeconfig contents or connection strings with
/// credentials — Events are readable by anyone who can read the namespace's events. Recording is best
/// effort, never throws, and may return before the Event is written (it is queued).
/// </summary>
public interface IEventRecorder
{
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventType type, string reason, string message, CancellationToken cancellationToken = default);
}
