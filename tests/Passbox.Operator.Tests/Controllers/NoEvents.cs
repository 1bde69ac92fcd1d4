using k8s;
using k8s.Models;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>An event sink that drops everything, for tests that assert on status and requests instead.</summary>
internal sealed class NoEvents : IEventSink
{
    public Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct) => Task.CompletedTask;

    public Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct) => Task.CompletedTask;
}
