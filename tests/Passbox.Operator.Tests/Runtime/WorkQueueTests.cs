using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Queue;

namespace Passbox.Operator.Tests.Runtime;

public sealed class WorkQueueTests : IDisposable
{
    private static readonly ObjectKey A = new("ns", "a");
    private static readonly ObjectKey B = new("ns", "b");

    private readonly FakeTimeProvider time = new(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly WorkQueue queue;

    public WorkQueueTests()
    {
        queue = new WorkQueue($"test-{Guid.NewGuid():N}", time, new WorkQueueOptions { BackoffInitial = TimeSpan.FromSeconds(1), BackoffCap = TimeSpan.FromMinutes(5) }, random: () => 0);
    }

    public void Dispose() => queue.Dispose();

    [Fact]
    public async Task A_key_added_many_times_while_waiting_is_held_once()
    {
        queue.Add(A);
        queue.Add(A);
        queue.Add(B);
        queue.Add(A);

        queue.Depth.Should().Be(2);
        (await queue.TakeAsync()).Should().Be(A);
        (await queue.TakeAsync()).Should().Be(B);
        queue.Depth.Should().Be(0);
    }

    [Fact]
    public async Task A_key_added_while_processing_is_not_handed_out_until_done_and_then_comes_back_once()
    {
        queue.Add(A);
        var taken = await queue.TakeAsync();
        taken.Should().Be(A);

        queue.Add(A);
        queue.Add(A);
        queue.Depth.Should().Be(0, "the key is being processed, so a second worker must not get it");

        var secondTake = queue.TakeAsync();
        await Task.Delay(20);
        secondTake.IsCompleted.Should().BeFalse();

        queue.Done(A);
        (await secondTake.WaitAsync(TimeSpan.FromSeconds(5))).Should().Be(A);
        queue.Done(A);
        queue.Depth.Should().Be(0);
    }

    [Fact]
    public async Task Add_after_delivers_the_key_only_when_the_delay_has_passed()
    {
        queue.AddAfter(A, TimeSpan.FromSeconds(10));
        queue.Depth.Should().Be(0);
        queue.DelayedCount.Should().Be(1);

        time.Advance(TimeSpan.FromSeconds(9));
        queue.Depth.Should().Be(0);

        time.Advance(TimeSpan.FromSeconds(1));
        queue.Depth.Should().Be(1);
        (await queue.TakeAsync()).Should().Be(A);
    }

    [Fact]
    public async Task A_delay_longer_than_a_timer_can_wait_is_kept_and_delivered_when_due()
    {
        // 90 days: a rotation period users set. A timer refuses waits beyond about 49.7 days, and it would have to
        // throw inside the callback of the timer armed for the earlier key, where nothing catches it.
        queue.AddAfter(A, TimeSpan.FromMilliseconds(100));
        queue.AddAfter(B, TimeSpan.FromDays(90));

        time.Advance(TimeSpan.FromMilliseconds(100));
        (await queue.TakeAsync()).Should().Be(A);
        queue.Done(A);

        time.Advance(TimeSpan.FromDays(89));
        queue.Depth.Should().Be(0, "the long delay is not cut short");
        time.Advance(TimeSpan.FromDays(1));
        queue.Depth.Should().Be(1);
        (await queue.TakeAsync()).Should().Be(B);
    }

    [Fact]
    public void Add_after_keeps_the_earliest_schedule()
    {
        queue.AddAfter(A, TimeSpan.FromSeconds(30));
        queue.AddAfter(A, TimeSpan.FromSeconds(5));
        queue.AddAfter(A, TimeSpan.FromSeconds(60));

        time.Advance(TimeSpan.FromSeconds(5));
        queue.Depth.Should().Be(1, "the 5 s schedule wins over 30 s and 60 s");
        queue.DelayedCount.Should().Be(0, "later schedules of the same key are dropped, not kept");
    }

    [Fact]
    public async Task Schedules_replaced_by_reconciles_do_not_pile_up_while_an_earlier_schedule_waits()
    {
        // A waits an hour at the head of the schedule; B is reconciled on every event and each time asks to come back
        // in a day (and once more, sooner). The schedules each reconcile replaces must not stay in the queue until A is due.
        var c = new ObjectKey("ns", "c");
        queue.AddAfter(A, TimeSpan.FromHours(1));
        queue.AddAfter(c, TimeSpan.FromHours(30));
        for (var i = 0; i < 2000; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            queue.Add(B);
            (await queue.TakeAsync()).Should().Be(B);
            queue.AddAfter(B, TimeSpan.FromDays(1));
            queue.AddAfter(B, TimeSpan.FromHours(23));
            queue.Done(B);
        }

        queue.DelayedCount.Should().Be(3);
        queue.ScheduleEntryCount.Should().BeLessThanOrEqualTo(65, "the heap holds the live schedules and a bounded number of replaced ones, not 4000");

        // Still each key when due: A after its hour, B 23 h after its last reconcile, c after its 30 h.
        var started = time.GetUtcNow() - TimeSpan.FromMilliseconds(500 * 2000);
        time.Advance(started + TimeSpan.FromHours(1) - time.GetUtcNow());
        queue.Depth.Should().Be(1);
        (await queue.TakeAsync()).Should().Be(A);
        queue.Done(A);

        var bDue = started + TimeSpan.FromMilliseconds(500 * 2000) + TimeSpan.FromHours(23);
        time.Advance(bDue - TimeSpan.FromSeconds(1) - time.GetUtcNow());
        queue.Depth.Should().Be(0, "B is not due before 23 h after its last reconcile");
        time.Advance(TimeSpan.FromSeconds(1));
        queue.Depth.Should().Be(1);
        (await queue.TakeAsync()).Should().Be(B);
        queue.Done(B);

        time.Advance(started + TimeSpan.FromHours(30) - TimeSpan.FromSeconds(1) - time.GetUtcNow());
        queue.Depth.Should().Be(0);
        time.Advance(TimeSpan.FromSeconds(1));
        queue.Depth.Should().Be(1);
        (await queue.TakeAsync()).Should().Be(c);
        queue.Done(c);

        time.Advance(TimeSpan.FromDays(2));
        queue.Depth.Should().Be(0, "no replaced schedule fires late");
        queue.DelayedCount.Should().Be(0);
        queue.ScheduleEntryCount.Should().Be(0);
    }

    [Fact]
    public async Task Taking_a_key_clears_its_pending_schedule_because_the_reconcile_decides_anew()
    {
        queue.AddAfter(A, TimeSpan.FromMinutes(10));
        queue.Add(A);
        (await queue.TakeAsync()).Should().Be(A);
        queue.Done(A);

        time.Advance(TimeSpan.FromMinutes(11));
        queue.Depth.Should().Be(0);
    }

    [Fact]
    public void Backoff_doubles_per_failure_up_to_the_cap_and_forget_resets_it()
    {
        var delays = Enumerable.Range(0, 12).Select(_ => queue.AddRateLimited(A)).ToList();

        delays.Take(5).Should().Equal(
            TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16));
        delays.Should().OnlyContain(delay => delay <= TimeSpan.FromMinutes(5));
        delays[^1].Should().Be(TimeSpan.FromMinutes(5));
        queue.NumRequeues(A).Should().Be(12);

        queue.Forget(A);
        queue.NumRequeues(A).Should().Be(0);
        queue.AddRateLimited(A).Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Backoff_is_per_key()
    {
        queue.AddRateLimited(A);
        queue.AddRateLimited(A);
        queue.AddRateLimited(B).Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_rate_limited_key_becomes_ready_after_its_backoff()
    {
        queue.AddRateLimited(A);
        queue.AddRateLimited(A);
        queue.AddRateLimited(A).Should().Be(TimeSpan.FromSeconds(4));
        time.Advance(TimeSpan.FromSeconds(1));
        (await queue.TakeAsync()).Should().Be(A, "the first schedule (1 s) still stands and is the earliest");
        queue.Done(A);

        queue.AddRateLimited(A).Should().Be(TimeSpan.FromSeconds(8));
        time.Advance(TimeSpan.FromSeconds(7.9));
        queue.Depth.Should().Be(0);
        time.Advance(TimeSpan.FromSeconds(0.1));
        queue.Depth.Should().Be(1);
    }

    [Fact]
    public void Jitter_only_shortens_and_stays_within_its_fraction()
    {
        var random = new Random(42);
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), 0.2, random.NextDouble);
        for (var failures = 1; failures <= 20; failures++)
        {
            var ceiling = Math.Min(Math.Pow(2, failures - 1), 300);
            for (var sample = 0; sample < 50; sample++)
            {
                var seconds = backoff.DelayFor(failures).TotalSeconds;
                seconds.Should().BeLessThanOrEqualTo(ceiling).And.BeGreaterThanOrEqualTo(ceiling * 0.8);
            }
        }

        var spread = Enumerable.Range(0, 200).Select(_ => backoff.DelayFor(3)).Distinct().Count();
        spread.Should().BeGreaterThan(50, "jitter must actually vary the delay");
    }

    [Fact]
    public async Task Shutdown_stops_handing_out_work_even_with_keys_waiting()
    {
        queue.Add(A);
        var waiting = queue.TakeAsync();
        (await waiting).Should().Be(A);

        var blocked = queue.TakeAsync();
        queue.Add(B);
        (await blocked).Should().Be(B);

        queue.Add(new ObjectKey("ns", "c"));
        queue.ShutDown();
        (await queue.TakeAsync()).Should().BeNull();
        queue.Add(A);
        queue.Depth.Should().Be(1, "c stays queued but is never handed out, and adds after shutdown are ignored");
    }
}
