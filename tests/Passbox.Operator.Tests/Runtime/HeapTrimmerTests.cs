using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Memory;
using Passbox.Operator.Tests.Usage;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// Memory left behind by a burst is handed back once the burst is over, without collecting while the heap stays put.
/// </summary>
public sealed class HeapTrimmerTests
{
    private const long Mb = 1024 * 1024;

    [Fact]
    public void Garbage_a_burst_promoted_is_collected_once_and_then_the_heap_is_left_alone()
    {
        var heap = new ScriptedHeap { Live = 25 * Mb };
        var trimmer = Settled(heap);

        heap.Settled = 39 * Mb;
        trimmer.TrimIfGrown().Should().BeTrue("14 MB more than the live set is what a burst left behind");
        heap.Settled.Should().Be(25 * Mb);

        trimmer.TrimIfGrown().Should().BeFalse("the heap is back at its live set");
        heap.Collections.Should().Be(1);
    }

    [Theory]
    [InlineData(25, 32)] // a small heap: up to 8 MB promoted by normal work
    [InlineData(200, 248)] // a large one: up to a quarter of its live set
    public void Growth_within_what_normal_work_promotes_costs_no_collection(long liveMb, long settledMb)
    {
        var heap = new ScriptedHeap { Live = liveMb * Mb };
        var trimmer = Settled(heap);

        heap.Settled = settledMb * Mb;

        trimmer.TrimIfGrown().Should().BeFalse();
        heap.Collections.Should().Be(0);
    }

    [Fact]
    public void A_large_heap_is_collected_once_it_grew_by_more_than_a_quarter()
    {
        var heap = new ScriptedHeap { Live = 200 * Mb };
        var trimmer = Settled(heap);

        heap.Settled = 251 * Mb;

        trimmer.TrimIfGrown().Should().BeTrue();
    }

    [Fact]
    public void A_collection_in_the_middle_of_a_burst_is_followed_by_one_more_once_the_burst_is_over()
    {
        var heap = new ScriptedHeap { Live = 25 * Mb };
        var trimmer = Settled(heap);

        heap.Live = 35 * Mb; // the burst's objects are still in use
        heap.Settled = 45 * Mb;
        trimmer.TrimIfGrown().Should().BeTrue();
        heap.Settled.Should().Be(35 * Mb);

        heap.Live = 27 * Mb; // the burst is over: what it held is garbage now, though the heap did not grow
        trimmer.TrimIfGrown().Should().BeTrue("the last collection found the live set still moving");
        heap.Settled.Should().Be(27 * Mb);

        trimmer.TrimIfGrown().Should().BeFalse();
        heap.Collections.Should().Be(2);
    }

    [Fact]
    public async Task The_running_service_looks_once_per_interval_and_collects_only_when_the_heap_grew()
    {
        var time = new FakeTimeProvider();
        var heap = new ScriptedHeap { Live = 25 * Mb, Settled = 25 * Mb };
        using var trimmer = new HeapTrimmer(heap, time, NullLogger<HeapTrimmer>.Instance, new HeapTrimOptions { Interval = TimeSpan.FromSeconds(15) });
        await trimmer.StartAsync(CancellationToken.None);

        // The first looks learn the live set (two collections: the first finds it has moved from nothing).
        await AdvanceAsync(time, TimeSpan.FromSeconds(15), () => heap.Collections == 1);
        await AdvanceAsync(time, TimeSpan.FromSeconds(15), () => heap.Collections == 2);
        await AdvanceAsync(time, TimeSpan.FromSeconds(15), () => heap.Reads == 5);
        heap.Collections.Should().Be(2, "the heap did not grow");

        heap.Settled = 60 * Mb;
        await AdvanceAsync(time, TimeSpan.FromSeconds(14), () => true);
        heap.Reads.Should().Be(5, "the next look is due only after a full interval");
        await AdvanceAsync(time, TimeSpan.FromSeconds(1), () => heap.Collections == 3);

        await trimmer.StopAsync(CancellationToken.None);
    }

    /// <summary>A trimmer that has learnt the heap's live set (its first looks collect, as a new process's do).</summary>
    private static HeapTrimmer Settled(ScriptedHeap heap)
    {
        heap.Settled = heap.Live;
        var trimmer = new HeapTrimmer(heap, TimeProvider.System, NullLogger<HeapTrimmer>.Instance);
        while (trimmer.TrimIfGrown())
        {
        }

        heap.Collections = 0;
        return trimmer;
    }

    private static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan by, Func<bool> until)
    {
        time.Advance(by);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!until() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        until().Should().BeTrue();
    }

    /// <summary>A heap whose sizes the test sets; a collection brings it down to its live set.</summary>
    private sealed class ScriptedHeap : IManagedHeap
    {
        public long Live { get; set; }

        public long Settled { get; set; }

        public int Collections { get; set; }

        /// <summary>How often the trimmer read the heap's size (once per look, once more after a collection).</summary>
        public int Reads { get; private set; }

        public long SettledBytes
        {
            get
            {
                Reads++;
                return Settled;
            }
        }

        public void CollectAndReturnMemory()
        {
            Collections++;
            Settled = Live;
        }
    }
}

/// <summary>The real heap: garbage that outlived the young generations is returned by the trimmer's collection.</summary>
[Collection(MemoryMeasurements.Name)]
public sealed class ProcessHeapTrimmerTests
{
    [Fact]
    public void Garbage_promoted_after_the_last_full_collection_is_handed_back()
    {
        var heap = new ProcessManagedHeap();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        PromoteAndDrop(64);
        var before = heap.SettledBytes;

        var trimmed = new HeapTrimmer(heap, TimeProvider.System, NullLogger<HeapTrimmer>.Instance).TrimIfGrown();

        trimmed.Should().BeTrue("64 MB outlived two young collections after the last full one");
        heap.SettledBytes.Should().BeLessThan(before - (48 * 1024 * 1024));
    }

    /// <summary>Allocates <paramref name="megabytes"/> in small objects, keeps them through two young collections, then drops them.</summary>
    private static void PromoteAndDrop(int megabytes)
    {
        var kept = new List<byte[]>();
        for (var i = 0; i < megabytes * 16; i++)
        {
            kept.Add(new byte[64 * 1024 - 64]);
        }

        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);
        GC.KeepAlive(kept);
    }
}
