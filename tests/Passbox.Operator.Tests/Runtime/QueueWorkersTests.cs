using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Queue;

namespace Passbox.Operator.Tests.Runtime;

public sealed class QueueWorkersTests
{
    [Fact]
    public async Task No_more_than_the_configured_number_of_keys_run_at_once_and_each_key_runs_alone()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue($"test-{Guid.NewGuid():N}", time);
        var running = 0;
        var maxRunning = 0;
        var perKey = new System.Collections.Concurrent.ConcurrentDictionary<ObjectKey, int>();
        var processed = 0;
        var allDone = new TaskCompletionSource();
        var keys = Enumerable.Range(0, 8).Select(i => new ObjectKey("ns", $"k{i}")).ToList();

        async Task ProcessAsync(ObjectKey key, CancellationToken ct)
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            perKey.AddOrUpdate(key, 1, (_, n) => n + 1).Should().Be(1, "one reconcile per key at a time");

            // Re-adding a key mid-flight must not start a second, parallel reconcile of it.
            queue.Add(key);
            await Task.Delay(15, CancellationToken.None);
            perKey.AddOrUpdate(key, 0, (_, n) => n - 1);
            Interlocked.Decrement(ref running);
            if (Interlocked.Increment(ref processed) >= keys.Count * 2)
            {
                allDone.TrySetResult();
            }
        }

        using var stop = new CancellationTokenSource();
        var run = QueueWorkers.RunAsync(queue, 3, (key, ct) => processed >= keys.Count * 2 ? Task.CompletedTask : ProcessAsync(key, ct), TimeSpan.FromSeconds(5), time, stop.Token);
        keys.ForEach(queue.Add);

        await allDone.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        maxRunning.Should().Be(3);
    }

    [Fact]
    public async Task Shutdown_lets_in_flight_work_finish_within_the_drain_deadline()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue($"test-{Guid.NewGuid():N}", time);
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var finished = false;
        var cancelledInFlight = false;

        using var stop = new CancellationTokenSource();
        var run = QueueWorkers.RunAsync(
            queue,
            1,
            async (_, ct) =>
            {
                started.TrySetResult();
                await release.Task;
                cancelledInFlight = ct.IsCancellationRequested;
                finished = true;
            },
            TimeSpan.FromSeconds(30),
            time,
            stop.Token);
        queue.Add(new ObjectKey("ns", "a"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));

        await stop.CancelAsync();
        queue.Add(new ObjectKey("ns", "b"));
        await Task.Delay(20);
        run.IsCompleted.Should().BeFalse("the in-flight reconcile is still running");

        release.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        finished.Should().BeTrue();
        cancelledInFlight.Should().BeFalse("it finished before the deadline");
    }

    [Fact]
    public async Task In_flight_work_is_cancelled_when_the_drain_deadline_passes()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue($"test-{Guid.NewGuid():N}", time);
        var started = new TaskCompletionSource();
        using var stop = new CancellationTokenSource();
        var run = QueueWorkers.RunAsync(
            queue,
            1,
            async (_, ct) =>
            {
                started.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            },
            TimeSpan.FromSeconds(30),
            time,
            stop.Token);
        queue.Add(new ObjectKey("ns", "a"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));

        await stop.CancelAsync();
        await Task.Delay(20);
        run.IsCompleted.Should().BeFalse();

        time.Advance(TimeSpan.FromSeconds(30));
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_abort_cancels_in_flight_work_at_once_without_waiting_for_the_drain_deadline()
    {
        var time = new FakeTimeProvider();
        using var queue = new WorkQueue($"test-{Guid.NewGuid():N}", time);
        var started = new TaskCompletionSource();
        var taken = 0;
        using var stop = new CancellationTokenSource();
        using var abort = new CancellationTokenSource();
        var run = QueueWorkers.RunAsync(
            queue,
            1,
            async (_, ct) =>
            {
                Interlocked.Increment(ref taken);
                started.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            },
            TimeSpan.FromSeconds(30),
            time,
            stop.Token,
            abort.Token);
        queue.Add(new ObjectKey("ns", "a"));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));

        // Leadership lost: the fake clock never reaches the drain deadline, so only the abort can end the work.
        queue.Add(new ObjectKey("ns", "b"));
        await abort.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        taken.Should().Be(1, "no new work is taken after an abort");
    }

    [Fact]
    public async Task A_stop_always_ends_the_workers()
    {
        // The stop wait can resume inside the token's callbacks, before the one that shuts the queue down, and leaving
        // its block then removes that callback: idle workers waited for ever. That happened about once in 2,000 stops.
        var time = new FakeTimeProvider();
        for (var i = 0; i < 10000; i++)
        {
            using var queue = new WorkQueue("stop-race", time);
            using var stop = new CancellationTokenSource();
            var run = QueueWorkers.RunAsync(queue, 1, (_, _) => Task.CompletedTask, TimeSpan.FromSeconds(30), time, stop.Token);
            if (i % 2 == 0)
            {
                await stop.CancelAsync();
            }
            else
            {
                stop.Cancel();
            }

            (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(10)))).Should().BeSameAs(run, "stop {0} must end the workers", i);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
