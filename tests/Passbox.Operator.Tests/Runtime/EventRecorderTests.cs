using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Runtime.Events;
using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>Events are queued, written in the background in order, dropped when the queue is full, and flushed on shutdown.</summary>
public sealed class EventRecorderTests
{
    private static readonly Widget Subject = Widget.Create("w1", "1");

    [Fact]
    public async Task Recording_does_not_wait_for_the_API_server_and_a_flush_writes_everything_in_order()
    {
        var release = new TaskCompletionSource();
        var server = new FakeApiServer(async request =>
        {
            await release.Task;
            return FakeApiServer.Json(HttpStatusCode.Created, request.Body!);
        });
        await using var recorder = new EventRecorder(server.CreateClient(), TimeProvider.System, NullLogger<EventRecorder>.Instance);

        var record = recorder.RecordAsync(Subject, EventType.Normal, "Validated", "logged in");
        await recorder.RecordAsync(Subject, EventType.Normal, "SecretCreated", "Secret w1 created");

        record.IsCompleted.Should().BeTrue("the reconcile must not wait for the Event to be written");
        release.SetResult();
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        server.Requests.Select(r => KubernetesJson.Deserialize<Corev1Event>(r.Body!).Reason).Should().Equal("Validated", "SecretCreated");
    }

    [Fact]
    public async Task A_full_queue_drops_new_events_and_counts_them()
    {
        var release = new TaskCompletionSource();
        var server = new FakeApiServer(async request =>
        {
            await release.Task;
            return FakeApiServer.Json(HttpStatusCode.Created, request.Body!);
        });
        await using var recorder = new EventRecorder(server.CreateClient(), TimeProvider.System, NullLogger<EventRecorder>.Instance, new EventRecorderOptions { QueueCapacity = 2 });
        var droppedBefore = RuntimeMetrics.EventsDropped.Value;

        for (var i = 0; i < 10; i++)
        {
            await recorder.RecordAsync(Subject, EventType.Warning, "Unreachable", $"attempt {i}");
        }

        release.SetResult();
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var written = server.Requests.Count;
        written.Should().BeInRange(2, 3, "one event may already be in flight, two wait in the queue");
        (RuntimeMetrics.EventsDropped.Value - droppedBefore).Should().BeGreaterThanOrEqualTo(10 - written);
    }

    [Fact]
    public async Task A_repeat_is_counted_on_the_existing_event()
    {
        var server = new FakeApiServer(request => request.Method == HttpMethod.Post
            ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
            : FakeApiServer.Json(HttpStatusCode.OK, "{}"));
        await using var recorder = new EventRecorder(server.CreateClient(), TimeProvider.System, NullLogger<EventRecorder>.Instance);

        await recorder.RecordAsync(Subject, EventType.Warning, "Unreachable", "db did not answer");
        await recorder.RecordAsync(Subject, EventType.Warning, "Unreachable", "db did not answer");
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

        server.Requests.Select(r => r.Method.Method).Should().Equal("POST", "PATCH");
        server.Requests.Last().Body.Should().Contain("\"count\":2");
    }

    [Fact]
    public async Task Normal_events_beyond_their_budget_are_not_written_but_warnings_always_are()
    {
        var server = new FakeApiServer(request => FakeApiServer.Json(HttpStatusCode.Created, request.Body!));
        var options = new EventRecorderOptions { NormalEventBurst = 3, NormalEventsPerSecond = 0 };
        await using var recorder = new EventRecorder(server.CreateClient(), TimeProvider.System, NullLogger<EventRecorder>.Instance, options);
        var throttledBefore = RuntimeMetrics.EventsThrottled.Value;

        for (var i = 0; i < 5; i++)
        {
            await recorder.RecordAsync(Widget.Create($"w{i}", "1"), EventType.Normal, "SecretCreated", $"Secret w{i} created");
            await recorder.RecordAsync(Widget.Create($"w{i}", "1"), EventType.Warning, "Unreachable", $"w{i} did not answer");
        }

        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var reasons = server.Requests.Select(r => KubernetesJson.Deserialize<Corev1Event>(r.Body!).Reason).ToList();
        reasons.Count(r => r == "SecretCreated").Should().Be(3, "the burst allows three Normal events and nothing refills it");
        reasons.Count(r => r == "Unreachable").Should().Be(5, "warnings are never held back");
        (RuntimeMetrics.EventsThrottled.Value - throttledBefore).Should().BeGreaterThanOrEqualTo(2);
    }
}

/// <summary>The Normal event budget: a burst, then a steady rate, never more than the burst saved up.</summary>
public sealed class NormalEventBudgetTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_burst_is_spent_and_then_the_rate_refills_it()
    {
        var budget = new NormalEventBudget(perSecond: 10, burst: 100, Start);

        Enumerable.Range(0, 100).Count(_ => budget.TryTake(Start)).Should().Be(100);
        budget.TryTake(Start).Should().BeFalse("the burst is spent");
        Enumerable.Range(0, 20).Count(_ => budget.TryTake(Start.AddSeconds(1))).Should().Be(10, "one second refills ten");
    }

    [Fact]
    public void A_quiet_hour_saves_up_no_more_than_the_burst()
    {
        var budget = new NormalEventBudget(perSecond: 10, burst: 100, Start);
        Enumerable.Range(0, 100).Count(_ => budget.TryTake(Start)).Should().Be(100);

        var later = Start.AddHours(1);

        Enumerable.Range(0, 1000).Count(_ => budget.TryTake(later)).Should().Be(100);
    }
}
