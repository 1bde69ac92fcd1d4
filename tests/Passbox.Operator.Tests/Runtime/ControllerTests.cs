using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

public sealed class ControllerTests : IDisposable
{
    private static readonly ObjectKey W1 = new("ns", "w1");

    private readonly FakeTimeProvider time = new();
    private readonly FakeInformer<Widget> widgets = new(ResourceDescriptor.For<Widget>());
    private readonly FakeInformer<V1Secret> secrets = new(ResourceDescriptor.Secrets);
    private readonly RecordingReconciler reconciler = new();
    private readonly Controller<Widget> controller;

    public ControllerTests()
    {
        controller = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, time, NullLogger.Instance);
        controller.Watches(secrets, EventMaps.ByLabel<V1Secret>("passbox.dev/credential"));
    }

    public void Dispose() => controller.Dispose();

    [Fact]
    public async Task Reconcile_gets_a_copy_of_the_cached_object_and_requeue_after_schedules_the_key()
    {
        widgets.Apply(Widget.Create("w1", "1"));
        DrainQueue();
        reconciler.Next = ReconcileResult.Requeue(TimeSpan.FromMinutes(10));

        await controller.ReconcileKeyAsync(W1, CancellationToken.None);

        reconciler.Seen.Should().ContainSingle().Which.Should().NotBeSameAs(widgets.Cache.Get(W1));
        controller.Queue.DelayedCount.Should().Be(1);
        time.Advance(TimeSpan.FromMinutes(9));
        controller.Queue.Depth.Should().Be(0);
        time.Advance(TimeSpan.FromMinutes(1));
        controller.Queue.Depth.Should().Be(1);
    }

    [Fact]
    public async Task A_missing_object_is_not_reconciled()
    {
        await controller.ReconcileKeyAsync(W1, CancellationToken.None);

        reconciler.Seen.Should().BeEmpty();
    }

    [Fact]
    public async Task An_exception_schedules_the_key_with_backoff_and_success_resets_it()
    {
        widgets.Apply(Widget.Create("w1", "1"));
        reconciler.Throw = true;
        await controller.ReconcileKeyAsync(W1, CancellationToken.None);
        await controller.ReconcileKeyAsync(W1, CancellationToken.None);
        controller.Queue.NumRequeues(W1).Should().Be(2);

        reconciler.Throw = false;
        await controller.ReconcileKeyAsync(W1, CancellationToken.None);
        controller.Queue.NumRequeues(W1).Should().Be(0);
    }

    [Fact]
    public async Task A_failed_Secret_write_is_logged_without_the_answer_that_quotes_the_Secrets_data()
    {
        // An admission policy refuses the write with a code nobody handles and a message that prints object.data.
        const string Quoted = "c2VjcmV0LXBhc3N3b3Jk";
        var api = new FakeApiServer(_ => FakeApiServer.Status(HttpStatusCode.RequestEntityTooLarge, "RequestEntityTooLarge", $"data {{password: {Quoted}}} is too large"));
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, api);
        var loggers = new RecordingLoggers();
        using var logged = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, time, loggers);
        reconciler.Work = () => client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "w1-password", "ns");
        widgets.Apply(Widget.Create("w1", "1"));

        await logged.ReconcileKeyAsync(W1, CancellationToken.None);

        loggers.Messages.Count(line => line.Contains(Quoted, StringComparison.Ordinal)).Should().Be(0, "no line may quote the Secret's data");
        loggers.Messages.Should().ContainSingle(line => line.Contains("failed", StringComparison.Ordinal))
            .Which.Should().Contain("PATCH /api/v1/namespaces/ns/secrets/w1-password answered HTTP 413 RequestEntityTooLarge");
        logged.Queue.NumRequeues(W1).Should().Be(1);
    }

    /// <summary>The operator's role lost patch on the status: the line must say which request was refused, not only "Forbidden".</summary>
    [Fact]
    public async Task A_refused_status_patch_is_logged_with_the_request_that_was_refused()
    {
        var api = new FakeApiServer(_ => FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "widgets.test.dev w1 is forbidden: cannot patch resource widgets/status"));
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, api);
        var loggers = new RecordingLoggers();
        using var logged = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, time, loggers);
        reconciler.Work = () => client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "test.dev", "v1", "ns", "widgets", "w1");
        widgets.Apply(Widget.Create("w1", "1"));

        await logged.ReconcileKeyAsync(W1, CancellationToken.None);

        loggers.Messages.Should().ContainSingle(line => line.StartsWith("Reconcile of Widget ns/w1 failed", StringComparison.Ordinal))
            .Which.Should().Contain("PATCH /apis/test.dev/v1/namespaces/ns/widgets/w1/status answered HTTP 403 Forbidden")
            .And.NotContain("Secret's data", "it is not a Secret");
        logged.Queue.NumRequeues(W1).Should().Be(1);
    }

    [Fact]
    public async Task A_reconcile_that_did_not_reach_the_API_server_is_one_error_line_naming_the_cause_without_a_stack_trace()
    {
        // An API server restart fails every reconcile in flight alike; each logged the HTTP client's whole stack.
        var api = new FakeApiServer(HttpResponseMessage (_) => throw new HttpRequestException(
            HttpRequestError.ConnectionError, "Connection refused (api.test:6443)", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, api);
        var loggers = new RecordingLoggers();
        using var logged = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, time, loggers);
        reconciler.Work = () => client.CoreV1.PatchNamespacedSecretAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "w1-password", "ns");
        widgets.Apply(Widget.Create("w1", "1"));

        await logged.ReconcileKeyAsync(W1, CancellationToken.None);

        loggers.Messages.Should().ContainSingle(line => line.StartsWith("Reconcile of Widget ns/w1 failed", StringComparison.Ordinal))
            .Which.Should().StartWith("Reconcile of Widget ns/w1 failed: Connection refused (api.test:6443); retry 1 in ").And.NotContain(" at ");
        logged.Queue.NumRequeues(W1).Should().Be(1, "retried with backoff as before");
    }

    [Fact]
    public async Task Log_lines_tell_delays_in_seconds_and_the_next_pass_apart_from_the_time_a_pass_took()
    {
        // A TimeSpan printed as it is read "retry 1 in 00:00:00.0050000", and "requeue in 12 ms" looked like the requeue's delay.
        var loggers = new RecordingLoggers();
        using var logged = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, time, loggers);
        widgets.Apply(Widget.Create("w1", "1"));
        reconciler.Work = () => throw new InvalidOperationException("boom");

        await logged.ReconcileKeyAsync(W1, CancellationToken.None);

        var failed = loggers.Messages.Should().ContainSingle(line => line.StartsWith("Reconcile of Widget ns/w1 failed", StringComparison.Ordinal)).Subject;
        var delay = System.Text.RegularExpressions.Regex.Match(failed, @"^Reconcile of Widget ns/w1 failed; retry 1 in ([0-9]+(\.[0-9]+)?s)\r?\n").Groups[1].Value;
        delay.Should().NotBeEmpty("the delay reads in seconds: {0}", failed);
        loggers.Messages.Should().ContainSingle(line => line.StartsWith("Reconciled Widget ns/w1: ", StringComparison.Ordinal))
            .Which.Should().Be($"Reconciled Widget ns/w1: error; next pass in {delay}; the pass took 0s");

        reconciler.Work = null;
        reconciler.Next = ReconcileResult.Requeue(TimeSpan.FromSeconds(125));
        await logged.ReconcileKeyAsync(W1, CancellationToken.None);

        loggers.Messages.Should().Contain("Reconciled Widget ns/w1: requeue; next pass in 2m5s; the pass took 0s");
        loggers.Messages.Should().NotContain(line => line.Contains("00:0", StringComparison.Ordinal));
    }

    [Fact]
    public void Status_only_updates_of_the_primary_do_not_enqueue_but_spec_changes_do()
    {
        widgets.Apply(Widget.Create("w1", "1", generation: 1));
        DrainQueue();

        widgets.Apply(Widget.Create("w1", "2", generation: 1, status: new WidgetStatus { Phase = "Ready" }));
        controller.Queue.Depth.Should().Be(0);

        widgets.Apply(Widget.Create("w1", "3", generation: 2));
        controller.Queue.Depth.Should().Be(1);
    }

    [Fact]
    public void Secondary_events_map_to_primary_keys()
    {
        secrets.Apply(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "generated", NamespaceProperty = "ns", ResourceVersion = "1", Labels = new Dictionary<string, string> { ["passbox.dev/credential"] = "w1" } },
        });

        controller.Queue.Depth.Should().Be(1);
    }

    [Fact]
    public async Task A_controller_that_reconciles_only_some_primaries_is_not_woken_by_the_others()
    {
        using var bigOnly = new Controller<Widget>($"widgets-{Guid.NewGuid():N}", widgets, reconciler, time, NullLogger.Instance);
        bigOnly.ReconcilesOnly(widget => widget.Metadata.Generation > 1);

        widgets.Apply(Widget.Create("w1", "1", generation: 1));
        bigOnly.Queue.Depth.Should().Be(0, "an object the controller does not act on must not wake a worker");

        widgets.Apply(Widget.Create("w1", "2", generation: 2));
        bigOnly.Queue.Depth.Should().Be(1);
        var key = await bigOnly.Queue.TakeAsync();
        bigOnly.Queue.Done(key!.Value);

        widgets.Delete(Widget.Create("w1", "3", generation: 1));
        bigOnly.Queue.Depth.Should().Be(1, "a deletion still reaches the queue, whose state for the key it clears");
    }

    private void DrainQueue()
    {
        while (controller.Queue.Depth > 0)
        {
            var key = controller.Queue.TakeAsync().GetAwaiter().GetResult();
            controller.Queue.Done(key!.Value);
        }
    }

    private sealed class RecordingReconciler : IReconciler<Widget>
    {
        public List<Widget> Seen { get; } = [];

        public ReconcileResult Next { get; set; } = ReconcileResult.Done;

        public bool Throw { get; set; }

        /// <summary>Runs before the result is returned; what it throws is the reconcile's failure.</summary>
        public Func<Task>? Work { get; set; }

        public async Task<ReconcileResult> ReconcileAsync(Widget entity, CancellationToken cancellationToken)
        {
            Seen.Add(entity);
            if (Work is not null)
            {
                await Work();
            }

            return Throw ? throw new InvalidOperationException("boom") : Next;
        }
    }
}

/// <summary>An informer fed by the test instead of an API server.</summary>
internal sealed class FakeInformer<T>(ResourceDescriptor resource) : IInformer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly List<Action<InformerEvent<T>>> handlers = [];

    public ResourceDescriptor Resource { get; } = resource;

    public ObjectCache<T> Cache { get; } = new();

    /// <summary>True unless a test models an informer still listing.</summary>
    public bool HasSynced { get; init; } = true;

    public string? SyncProblem => null;

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RunAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    public IDisposable Subscribe(Action<InformerEvent<T>> handler)
    {
        handlers.Add(handler);
        return new NoopDisposable();
    }

    public void Apply(T item)
    {
        var old = Cache.Upsert(item);
        var change = old is null ? new InformerEvent<T>(InformerEventType.Added, item) : new InformerEvent<T>(InformerEventType.Updated, item, old);
        handlers.ForEach(handler => handler(change));
    }

    /// <summary>The informer's keep filter rejects the object: dropped from the cache, reported all the same.</summary>
    public void Reject(T item)
    {
        var old = Cache.Remove(ObjectKey.Of(item));
        var change = old is null ? new InformerEvent<T>(InformerEventType.Added, item) : new InformerEvent<T>(InformerEventType.Updated, item, old);
        handlers.ForEach(handler => handler(change));
    }

    /// <summary>The object is gone (also when its finalizer was removed by hand): a Deleted event with its last state.</summary>
    public void Delete(T item)
    {
        var removed = Cache.Remove(ObjectKey.Of(item)) ?? item;
        var change = new InformerEvent<T>(InformerEventType.Deleted, removed);
        handlers.ForEach(handler => handler(change));
    }

    /// <summary>An update found by a relist after a 410, as the real informer reports it.</summary>
    public void Relist(T item)
    {
        var old = Cache.Upsert(item) ?? throw new InvalidOperationException("A relist update needs a cached object.");
        var change = new InformerEvent<T>(InformerEventType.Updated, item, old, FromRelist: true);
        handlers.ForEach(handler => handler(change));
    }

    private sealed class NoopDisposable : IDisposable
    {
        public void Dispose()
        {
        }
    }
}
