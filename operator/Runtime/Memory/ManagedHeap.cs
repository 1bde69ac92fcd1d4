namespace Passbox.Operator.Runtime.Memory;

/// <summary>The process's managed heap, as far as <see cref="HeapTrimmer"/> needs to see and act on it.</summary>
public interface IManagedHeap
{
    /// <summary>
    /// Bytes the heap held right after its last collection of any kind: what the old generations hold, garbage they
    /// were handed included, without the young allocations since (a gen0 collection would clear those anyway).
    /// </summary>
    long SettledBytes { get; }

    /// <summary>A full, compacting collection that also hands free memory back to the operating system.</summary>
    void CollectAndReturnMemory();
}

/// <summary>The real heap, through <see cref="GC"/>.</summary>
public sealed class ProcessManagedHeap : IManagedHeap
{
    public long SettledBytes
    {
        get
        {
            long after = 0;
            foreach (var generation in GC.GetGCMemoryInfo(GCKind.Any).GenerationInfo)
            {
                after += generation.SizeAfterBytes;
            }

            return after;
        }
    }

    public void CollectAndReturnMemory() =>
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
