namespace Passbox.Operator.Runtime.Memory;

/// <summary>The process's managed heap, as far as <see cref="HeapTrimmer"/> needs to see and act on it.</summary>
public interface IManagedHeap
{
    /// <summary>Bytes the heap holds now, garbage not yet collected included.</summary>
    long CurrentBytes { get; }

    /// <summary>Bytes the heap held right after its last full blocking collection (the live set then).</summary>
    long AfterLastFullCollectionBytes { get; }

    /// <summary>A full, compacting collection that also hands free memory back to the operating system.</summary>
    void CollectAndReturnMemory();
}

/// <summary>The real heap, through <see cref="GC"/>.</summary>
public sealed class ProcessManagedHeap : IManagedHeap
{
    public long CurrentBytes => GC.GetTotalMemory(forceFullCollection: false);

    public long AfterLastFullCollectionBytes
    {
        get
        {
            var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            long after = 0;
            foreach (var generation in info.GenerationInfo)
            {
                after += generation.SizeAfterBytes;
            }

            return after;
        }
    }

    public void CollectAndReturnMemory() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
