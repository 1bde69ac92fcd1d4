using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>Watch events that only echo the operator's own writes are not reconciled again; anybody else's change is.</summary>
public sealed class OwnWritesTests : IDisposable
{
    private readonly FakeInformer<Widget> widgets = new(ResourceDescriptor.For<Widget>());
    private readonly FakeInformer<V1Secret> secrets = new(ResourceDescriptor.Secrets);
    private readonly OwnWrites ownWrites = new();
    private readonly WritingReconciler reconciler = new();
    private readonly Controller<Widget> controller;

    public OwnWritesTests()
    {
        controller = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, new FakeTimeProvider(), NullLogger.Instance, ownWrites: ownWrites);
        controller.Watches(secrets, EventMaps.ByLabel<V1Secret>("passbox.dev/credential"));
    }

    public void Dispose() => controller.Dispose();

    [Fact]
    public void The_event_of_our_own_finalizer_patch_is_skipped_but_a_later_spec_change_is_reconciled()
    {
        widgets.Apply(Widget.Create("w1", "1"));
        Drain();

        var withFinalizer = Widget.Create("w1", "2");
        withFinalizer.Metadata.Finalizers = ["passbox.dev/in-use-protection"];
        ownWrites.Record(withFinalizer.Metadata);
        widgets.Apply(withFinalizer);
        controller.Queue.Depth.Should().Be(0, "the reconcile that added the finalizer continued from that very version");

        var changed = Widget.Create("w1", "3", generation: 2);
        changed.Metadata.Finalizers = ["passbox.dev/in-use-protection"];
        widgets.Apply(changed);
        controller.Queue.Depth.Should().Be(1);
    }

    [Fact]
    public void The_event_of_a_Secret_we_created_is_skipped_but_a_hand_edit_of_it_is_reconciled()
    {
        var created = Secret("1");
        ownWrites.Record(created.Metadata);
        secrets.Apply(created);
        controller.Queue.Depth.Should().Be(0);

        secrets.Apply(Secret("2"));
        controller.Queue.Depth.Should().Be(1, "someone else's edit must be repaired");
    }

    [Fact]
    public async Task An_echo_that_arrives_before_the_write_returned_is_still_recognised()
    {
        widgets.Apply(Widget.Create("w1", "1"));
        Drain();
        reconciler.During = () =>
        {
            // The watch is faster than the response: the event is in before the version is recorded.
            var written = Widget.Create("w1", "2");
            written.Metadata.Finalizers = ["passbox.dev/in-use-protection"];
            widgets.Apply(written);
            ownWrites.Record(written.Metadata);
        };

        await controller.ReconcileKeyAsync(new("ns", "w1"), CancellationToken.None);

        controller.Queue.Depth.Should().Be(0);
    }

    [Fact]
    public async Task A_change_by_someone_else_during_a_reconcile_is_reconciled_after_it()
    {
        widgets.Apply(Widget.Create("w1", "1"));
        Drain();
        reconciler.During = () => widgets.Apply(Widget.Create("w1", "2", generation: 2));

        await controller.ReconcileKeyAsync(new("ns", "w1"), CancellationToken.None);

        controller.Queue.Depth.Should().Be(1);
    }

    [Fact]
    public void A_relisted_update_is_reconciled_even_when_it_carries_our_last_version()
    {
        widgets.Apply(Widget.Create("w1", "1"));
        Drain();

        // Missed while the watch was down: someone's spec change (2), then our finalizer patch (3) on the stale cache.
        var afterBoth = Widget.Create("w1", "3", generation: 2);
        afterBoth.Metadata.Finalizers = ["passbox.dev/in-use-protection"];
        ownWrites.Record(afterBoth.Metadata);
        widgets.Relist(afterBoth);

        controller.Queue.Depth.Should().Be(1, "a relist sums up every missed write, the spec change included");
    }

    [Fact]
    public void A_watch_of_objects_other_primaries_read_reconciles_our_own_writes_too()
    {
        var readers = new FakeInformer<V1Secret>(ResourceDescriptor.Secrets);
        controller.Watches(readers, _ => [new ObjectKey("ns", "reader")], echoesOfOwnWrites: false);
        var created = Secret("1");
        ownWrites.Record(created.Metadata);

        readers.Apply(created);

        controller.Queue.Depth.Should().Be(1, "the credential reading this generated Secret as its source has not seen it");
    }

    [Fact]
    public void Only_the_last_few_versions_of_an_object_are_kept()
    {
        foreach (var version in new[] { "1", "2", "3", "4", "5" })
        {
            ownWrites.Record(new V1ObjectMeta { Uid = "u", ResourceVersion = version });
        }

        ownWrites.IsEcho(new V1ObjectMeta { Uid = "u", ResourceVersion = "1" }).Should().BeFalse();
        ownWrites.IsEcho(new V1ObjectMeta { Uid = "u", ResourceVersion = "5" }).Should().BeTrue();
        ownWrites.IsEcho(new V1ObjectMeta { Uid = "other", ResourceVersion = "5" }).Should().BeFalse();
        ownWrites.Forget("u");
        ownWrites.IsEcho(new V1ObjectMeta { Uid = "u", ResourceVersion = "5" }).Should().BeFalse();
    }

    private static V1Secret Secret(string resourceVersion) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "generated",
            NamespaceProperty = "ns",
            Uid = "uid-generated",
            ResourceVersion = resourceVersion,
            Labels = new Dictionary<string, string> { ["passbox.dev/credential"] = "w1" },
        },
    };

    private void Drain()
    {
        while (controller.Queue.Depth > 0)
        {
            var key = controller.Queue.TakeAsync().GetAwaiter().GetResult();
            controller.Queue.Done(key!.Value);
        }
    }

    private sealed class WritingReconciler : IReconciler<Widget>
    {
        public Action During { get; set; } = () => { };

        public Task<ReconcileResult> ReconcileAsync(Widget entity, CancellationToken cancellationToken)
        {
            During();
            return Task.FromResult(ReconcileResult.Done);
        }
    }
}
