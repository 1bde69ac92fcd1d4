using System.Diagnostics;
using k8s;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.Status;
using Passbox.Operator.Runtime.Watching;
using Xunit.Abstractions;
using static Passbox.IntegrationTests.Runtime.RuntimeTestKit;

namespace Passbox.IntegrationTests.Runtime;

/// <summary>The runtime wired as the operator wires it (DI, controller manager, leader election), end to end.</summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class ControllerHostTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const string OperatorUser = "passbox-operator";
    private const int WidgetCount = 40;

    [Fact]
    public async Task Each_object_is_reconciled_once_and_an_idle_operator_writes_nothing()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("idle");
        for (var i = 0; i < WidgetCount; i++)
        {
            await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, $"w{i:00}");
        }

        var counter = new ReconcileCounter();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(ControlPlaneFixture.CreateClient(controlPlane.OperatorKubeconfig));
        builder.Services.AddSingleton(counter);
        builder.Services.AddPassboxRuntime(options => options with
        {
            LeaderElection = options.LeaderElection with { LeaseNamespace = ns.Name, Identity = "idle-test", RetryPeriod = TimeSpan.FromSeconds(2) },
        });
        builder.Services.AddInformer("widgets", Widgets, new InformerOptions<Widget> { Namespace = ns.Name });
        builder.Services.AddController<Widget, ReadyReconciler>("widgets", "widgets", options: new ControllerOptions { Workers = 4 });
        using var host = builder.Build();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        var started = Stopwatch.StartNew();
        await host.StartAsync();
        await EventuallyAsync(() => counter.Count >= WidgetCount, TimeSpan.FromSeconds(30), "every widget gets reconciled");
        var informer = host.Services.GetInformer<Widget>("widgets");
        await EventuallyAsync(() => informer.Cache.List().All(w => w.Status?.ObservedGeneration == 1), because: "every status was written and observed");
        output.WriteLine($"{WidgetCount} widgets reconciled and their status observed in {started.ElapsedMilliseconds} ms");
        (await health.CheckHealthAsync()).Status.Should().Be(HealthStatus.Healthy);

        var mark = controlPlane.AuditLog?.Mark() ?? default;
        var idle = TimeSpan.FromSeconds(10);
        await Task.Delay(idle);
        counter.Count.Should().Be(WidgetCount, "status writes of our own must not cause another reconcile");

        if (controlPlane.AuditLog is { } audit)
        {
            var requests = audit.Since(mark, OperatorUser);
            var leaseRequests = requests.Count(e => e.Resource == "leases");
            var other = requests.Where(e => e.Resource != "leases").ToList();
            output.WriteLine($"Idle {idle.TotalSeconds} s with {WidgetCount} objects: {other.Count} requests besides {leaseRequests} lease get/update (renewals)");
            other.Where(ControlPlaneAuditLog.IsWrite).Should().BeEmpty("nothing changed, so nothing is written");
            other.Should().BeEmpty("no polling: the watch stays open and RequeueAfter is an hour away");
        }

        var stopping = Stopwatch.StartNew();
        await host.StopAsync();
        output.WriteLine($"Graceful stop (drain + lease release) in {stopping.ElapsedMilliseconds} ms");
        var lease = await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync("passbox-operator", ns.Name);
        lease.Spec.HolderIdentity.Should().BeEmpty("the lease is released on a graceful stop");
    }

    internal sealed class ReconcileCounter
    {
        private int count;

        public int Count => Volatile.Read(ref count);

        public void Increment() => Interlocked.Increment(ref count);
    }

    internal sealed class ReadyReconciler(StatusWriter statusWriter, ReconcileCounter counter) : IReconciler<Widget>
    {
        public async Task<ReconcileResult> ReconcileAsync(Widget entity, CancellationToken cancellationToken)
        {
            counter.Increment();
            await statusWriter.WriteAsync(
                entity,
                widget =>
                {
                    var conditions = Conditions.Copy(widget.Status?.Conditions);
                    Conditions.Set(conditions, "Ready", Conditions.True, "Validated", "ok", widget.Metadata.Generation, TimeProvider.System);
                    return new WidgetStatus { ObservedGeneration = widget.Metadata.Generation, Conditions = conditions };
                },
                cancellationToken);
            return ReconcileResult.Requeue(TimeSpan.FromHours(1));
        }
    }
}
