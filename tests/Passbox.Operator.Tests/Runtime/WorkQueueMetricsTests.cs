using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Queue;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// The queue's series as someone on call reads them to tell a stuck or failing controller from a busy one: how long keys
/// wait and are worked on, how many retry, and a worker that hangs.
/// </summary>
public sealed class WorkQueueMetricsTests : IDisposable
{
    private static readonly ObjectKey A = new("ns", "a");
    private static readonly ObjectKey B = new("ns", "b");

    private readonly FakeTimeProvider time = new(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly WorkQueue queue;

    public WorkQueueMetricsTests()
    {
        queue = new WorkQueue($"metrics-{Guid.NewGuid():N}", time, new WorkQueueOptions { BackoffInitial = TimeSpan.FromSeconds(1), BackoffCap = TimeSpan.FromMinutes(5) }, random: () => 0);
    }

    private string Name => queue.Name;

    public void Dispose() => queue.Dispose();

    [Fact]
    public async Task Adds_count_each_key_once_while_it_waits_and_its_time_in_the_queue_and_at_work_is_observed()
    {
        queue.Add(A);
        queue.Add(A);
        queue.Add(B);
        RuntimeMetrics.QueueAdds.WithLabels(Name).Value.Should().Be(2, "a key already waiting is not added again");

        time.Advance(TimeSpan.FromSeconds(2));
        (await queue.TakeAsync()).Should().Be(A);
        var latency = RuntimeMetrics.QueueLatency.WithLabels(Name);
        latency.Count.Should().Be(1);
        latency.Sum.Should().BeApproximately(2, 0.001);

        time.Advance(TimeSpan.FromSeconds(3));
        queue.Done(A);
        var work = RuntimeMetrics.QueueWorkDuration.WithLabels(Name);
        work.Count.Should().Be(1);
        work.Sum.Should().BeApproximately(3, 0.001);
    }

    [Fact]
    public async Task A_worker_that_holds_its_key_shows_as_unfinished_work_that_grows_until_it_is_done()
    {
        queue.Add(A);
        queue.Add(B);
        await queue.TakeAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        await queue.TakeAsync();
        time.Advance(TimeSpan.FromSeconds(5));

        WorkQueueMetrics.UpdateAll();
        RuntimeMetrics.QueueUnfinishedWork.WithLabels(Name).Value.Should().BeApproximately(20, 0.001, "15 s of A and 5 s of B");
        RuntimeMetrics.QueueLongestRunning.WithLabels(Name).Value.Should().BeApproximately(15, 0.001);

        queue.Done(A);
        queue.Done(B);
        WorkQueueMetrics.UpdateAll();
        RuntimeMetrics.QueueUnfinishedWork.WithLabels(Name).Value.Should().Be(0);
        RuntimeMetrics.QueueLongestRunning.WithLabels(Name).Value.Should().Be(0);
    }

    [Fact]
    public async Task A_key_waiting_out_its_backoff_is_counted_as_retrying_and_delayed_though_not_in_the_depth()
    {
        queue.Add(A);
        await queue.TakeAsync();
        queue.AddRateLimited(A);
        queue.Done(A);
        queue.AddAfter(B, TimeSpan.FromMinutes(10));

        WorkQueueMetrics.UpdateAll();
        RuntimeMetrics.QueueDepth.WithLabels(Name).Value.Should().Be(0, "depth counts keys ready now, as client-go's does");
        RuntimeMetrics.QueueDelayed.WithLabels(Name).Value.Should().Be(2, "A waits out its backoff, B its periodic requeue");
        RuntimeMetrics.QueueRetrying.WithLabels(Name).Value.Should().Be(1, "only A failed");
        RuntimeMetrics.QueueRetries.WithLabels(Name).Value.Should().Be(1);

        time.Advance(TimeSpan.FromSeconds(1));
        await queue.TakeAsync();
        queue.Forget(A);
        queue.Done(A);
        WorkQueueMetrics.UpdateAll();
        RuntimeMetrics.QueueRetrying.WithLabels(Name).Value.Should().Be(0, "A succeeded");
        RuntimeMetrics.QueueDelayed.WithLabels(Name).Value.Should().Be(1);
    }

    [Fact]
    public void A_stopped_queue_leaves_no_keys_behind_in_its_gauges()
    {
        queue.Add(A);
        queue.AddRateLimited(B);
        WorkQueueMetrics.UpdateAll();
        RuntimeMetrics.QueueRetrying.WithLabels(Name).Value.Should().Be(1);

        queue.Dispose();
        WorkQueueMetrics.UpdateAll();
        RuntimeMetrics.QueueDepth.WithLabels(Name).Value.Should().Be(0);
        RuntimeMetrics.QueueDelayed.WithLabels(Name).Value.Should().Be(0);
        RuntimeMetrics.QueueRetrying.WithLabels(Name).Value.Should().Be(0);
    }
}
