using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Events;
using Passbox.Operator.Runtime.Finalizers;
using Passbox.Operator.Runtime.Status;
using static Passbox.IntegrationTests.Runtime.RuntimeTestKit;

namespace Passbox.IntegrationTests.Runtime;

/// <summary>Status, finalizer and event writes against a real API server, checked through its audit log.</summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class WriterTests(ControlPlaneFixture controlPlane)
{
    private const string OperatorUser = "passbox-operator";

    [Fact]
    public async Task A_status_write_that_meets_a_409_conflict_re_reads_and_retries()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("conflict");
        var stale = await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, "w1");

        // Someone else changes the object between our read and our write.
        await controlPlane.AdminApi.PatchAsync<Widget>(
            Widgets.ItemPath(ObjectKey.Of(stale)),
            new JsonObject { ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["touched"] = "yes" } } },
            CancellationToken.None);

        var mark = controlPlane.AuditLog?.Mark() ?? default;
        var writer = new StatusWriter(controlPlane.CreateOperatorApi(), TimeProvider.System, NullLogger<StatusWriter>.Instance);
        var result = await writer.WriteAsync(stale, widget => Ready(widget), CancellationToken.None);

        result.Should().Be(StatusWriteResult.Patched);
        var stored = await controlPlane.AdminApi.GetAsync<Widget>(Widgets.ItemPath(ObjectKey.Of(stale)), CancellationToken.None);
        stored.Status!.ObservedGeneration.Should().Be(1);
        stored.Status.Conditions.Should().ContainSingle(c => c.Type == "Ready" && c.Status == "True");
        stored.Metadata.Labels.Should().ContainKey("touched", "the retry must not undo the other writer's change");

        if (controlPlane.AuditLog is { } audit)
        {
            static List<AuditEntry> StatusPatches(IReadOnlyList<AuditEntry> entries) => [.. entries.Where(e => e.Verb == "patch" && e.Subresource == "status")];
            var entries = await audit.WaitForAsync(mark, OperatorUser, ns.Name, entries => StatusPatches(entries).Count >= 2);
            StatusPatches(entries).Select(e => e.Code).Should().Equal(409, 200);
        }

        // Written once, the same status is not written again. A read made afterwards marks the end: once its entry is in
        // the log, so is any write the writer made before it.
        mark = controlPlane.AuditLog?.Mark() ?? default;
        (await writer.WriteAsync(stored, widget => Ready(widget), CancellationToken.None)).Should().Be(StatusWriteResult.Unchanged);
        if (controlPlane.AuditLog is { } log)
        {
            await controlPlane.CreateOperatorApi().GetAsync<Widget>(Widgets.ItemPath(ObjectKey.Of(stale)), CancellationToken.None);
            var entries = await log.WaitForAsync(mark, OperatorUser, ns.Name, entries => entries.Any(e => e.Verb == "get"));
            entries.Should().ContainSingle(e => e.Verb == "get", "the marking read is logged").And.OnlyContain(e => e.Verb == "get", "nothing was written");
        }
    }

    [Fact]
    public async Task Finalizers_are_added_and_removed_once_surviving_a_conflict()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("finalizer");
        var stale = await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, "w1");
        await controlPlane.AdminApi.ResizeWidgetAsync(ns.Name, "w1", 5);
        var finalizers = new FinalizerManager(controlPlane.CreateOperatorApi(), NullLogger<FinalizerManager>.Instance);

        var added = await finalizers.AddAsync(stale, "passbox.dev/test", CancellationToken.None);
        added!.Metadata.Finalizers.Should().Equal("passbox.dev/test");
        added.Spec!.Size.Should().Be(5);
        (await finalizers.AddAsync(added, "passbox.dev/test", CancellationToken.None)).Should().BeSameAs(added, "no write when already there");

        await controlPlane.AdminApi.DeleteWidgetAsync(ns.Name, "w1");
        var deleting = await controlPlane.AdminApi.GetAsync<Widget>(Widgets.ItemPath(ObjectKey.Of(added)), CancellationToken.None);
        deleting.Metadata.DeletionTimestamp.Should().NotBeNull();

        await finalizers.RemoveAsync(added, "passbox.dev/test", CancellationToken.None);
        var gone = async () => await controlPlane.AdminApi.GetAsync<Widget>(Widgets.ItemPath(ObjectKey.Of(added)), CancellationToken.None);
        (await gone.Should().ThrowAsync<Passbox.Operator.Runtime.Api.KubernetesApiException>()).Which.IsNotFound.Should().BeTrue();
    }

    [Fact]
    public async Task Repeated_events_are_aggregated_into_one_event_with_a_count()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("events");
        var widget = await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, "w1");
        await using var recorder = new EventRecorder(controlPlane.CreateOperatorApi(), TimeProvider.System, NullLogger<EventRecorder>.Instance);

        for (var i = 0; i < 3; i++)
        {
            await recorder.RecordAsync(widget, EventType.Warning, "Unreachable", "obproxy.example:2883 did not answer");
        }

        await recorder.RecordAsync(widget, EventType.Normal, "Validated", "logged in");
        await recorder.FlushAsync(); // What a graceful shutdown does: everything queued is written.

        var events = await controlPlane.Admin.CoreV1.ListNamespacedEventAsync(ns.Name);
        events.Items.Should().HaveCount(2);
        var repeated = events.Items.Single(e => e.Reason == "Unreachable");
        repeated.Count.Should().Be(3);
        repeated.Type.Should().Be("Warning");
        repeated.Source.Component.Should().Be("passbox");
        repeated.InvolvedObject.Kind.Should().Be("Widget");
        repeated.InvolvedObject.Uid.Should().Be(widget.Metadata.Uid);
    }

    private static WidgetStatus Ready(Widget widget)
    {
        var conditions = Conditions.Copy(widget.Status?.Conditions);
        Conditions.Set(conditions, "Ready", Conditions.True, "Validated", "ok", widget.Metadata.Generation, TimeProvider.System);
        return new WidgetStatus { ObservedGeneration = widget.Metadata.Generation, Conditions = conditions };
    }
}
