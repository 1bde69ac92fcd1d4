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
    public void A_heap_that_grew_well_past_its_last_live_set_is_collected_once_and_then_left_alone()
    {
        var heap = new ScriptedHeap { Live = 25 * Mb, Current = 39 * Mb };
        var trimmer = Trimmer(heap);

        trimmer.TrimIfGrown().Should().BeTrue("14 MB more than the last live set is what a burst left behind");
        heap.Collections.Should().Be(1);
        heap.Current.Should().Be(25 * Mb);

        trimmer.TrimIfGrown().Should().BeFalse("the heap is back at its live set");
        heap.Collections.Should().Be(1);
    }

    [Theory]
    [InlineData(25, 32)] // a small heap: up to 8 MB of short-lived garbage is normal work
    [InlineData(200, 248)] // a large one: up to a quarter of its live set
    public void Growth_within_what_normal_work_leaves_costs_no_collection(long liveMb, long currentMb)
    {
        var heap = new ScriptedHeap { Live = liveMb * Mb, Current = currentMb * Mb };

        Trimmer(heap).TrimIfGrown().Should().BeFalse();

        heap.Collections.Should().Be(0);
    }

    [Fact]
    public void A_large_heap_is_collected_once_it_grew_by_more_than_a_quarter()
    {
        var heap = new ScriptedHeap { Live = 200 * Mb, Current = 251 * Mb };

        Trimmer(heap).TrimIfGrown().Should().BeTrue();
    }

    [Fact]
    public async Task The_running_service_looks_once_per_interval_and_collects_only_when_the_heap_grew()
    {
        var time = new FakeTimeProvider();
        var heap = new ScriptedHeap { Live = 25 * Mb, Current = 26 * Mb };
        using var trimmer = new HeapTrimmer(heap, time, NullLogger<HeapTrimmer>.Instance, new HeapTrimOptions { Interval = TimeSpan.FromSeconds(30) });
        await trimmer.StartAsync(CancellationToken.None);

        await AdvanceAsync(time, TimeSpan.FromSeconds(30), heap, expectedLooks: 1);
        heap.Collections.Should().Be(0, "the heap did not grow");

        heap.Current = 60 * Mb;
        await AdvanceAsync(time, TimeSpan.FromSeconds(29), heap, expectedLooks: 1);
        heap.Collections.Should().Be(0, "the next look is due only after a full interval");
        await AdvanceAsync(time, TimeSpan.FromSeconds(1), heap, expectedLooks: 2);
        heap.Collections.Should().Be(1);

        await trimmer.StopAsync(CancellationToken.None);
    }

    private static HeapTrimmer Trimmer(ScriptedHeap heap) =>
        new(heap, TimeProvider.System, NullLogger<HeapTrimmer>.Instance);

    private static async Task AdvanceAsync(FakeTimeProvider time, TimeSpan by, ScriptedHeap heap, int expectedLooks)
    {
        time.Advance(by);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (heap.Looks < expectedLooks && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        heap.Looks.Should().Be(expectedLooks);
    }

    /// <summary>A heap whose sizes the test sets; a collection brings it back to its live set.</summary>
    private sealed class ScriptedHeap : IManagedHeap
    {
        public long Live { get; set; }

        public long Current { get; set; }

        public int Collections { get; private set; }

        public int Looks { get; private set; }

        public long CurrentBytes => Current;

        public long AfterLastFullCollectionBytes
        {
            get
            {
                Looks++;
                return Live;
            }
        }

        public void CollectAndReturnMemory()
        {
            Collections++;
            Current = Live;
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
        var before = heap.CurrentBytes;

        var trimmed = new HeapTrimmer(heap, TimeProvider.System, NullLogger<HeapTrimmer>.Instance).TrimIfGrown();

        trimmed.Should().BeTrue("64 MB outlived two young collections after the last full one");
        heap.CurrentBytes.Should().BeLessThan(before - (48 * 1024 * 1024));
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
