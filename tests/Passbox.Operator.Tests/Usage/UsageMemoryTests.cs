using k8s.Models;
using Passbox.Operator.Usage;
using Xunit.Abstractions;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurements
{
    public const string Name = "Memory measurements";
}

/// <summary>
/// Rough bytes retained per indexed Pod (performance.md: the index keeps extracted names, never the objects).
/// Runs alone so that other tests' allocations do not blur the numbers; not timed.
/// </summary>
[Collection(MemoryMeasurements.Name)]
public sealed class UsageMemoryTests(ITestOutputHelper output)
{
    private const int Pods = 20_000;

    [Fact]
    public void A_pod_without_secret_references_retains_nothing()
    {
        var perPod = RetainedPerPod(i => Spec());

        output.WriteLine($"Pod with no Secret reference: {perPod:F1} bytes retained per Pod");
        perPod.Should().BeLessThan(8);
    }

    [Fact]
    public void A_pod_with_two_shared_secret_references_retains_a_few_hundred_bytes()
    {
        var perPod = RetainedPerPod(_ => Spec(s =>
        {
            s.Containers[0].Env.Add(SecretEnv("DB_PASSWORD", "orders-ob-conn"));
            s.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry-bot" }];
        }));

        output.WriteLine($"Pod with 2 Secret references (shared by all Pods): {perPod:F1} bytes retained per Pod");
        perPod.Should().BeLessThan(512);
    }

    [Fact]
    public void A_pod_with_two_secret_references_of_its_own_retains_well_under_a_kilobyte()
    {
        var perPod = RetainedPerPod(i => Spec(s =>
        {
            s.Containers[0].Env.Add(SecretEnv("DB_PASSWORD", $"job-{i:D6}-conn"));
            s.ImagePullSecrets = [new V1LocalObjectReference { Name = $"job-{i:D6}-pull" }];
        }));

        output.WriteLine($"Pod with 2 Secret references used by no other Pod: {perPod:F1} bytes retained per Pod");
        perPod.Should().BeLessThan(800);
    }

    /// <summary>
    /// The smallest of three measurements: the class runs alone, but threads other tests left behind (a listener's loop, a
    /// timer) may still allocate while one runs, which only ever adds to it (9 bytes per Pod seen once under load, against 0).
    /// </summary>
    private static double RetainedPerPod(Func<int, V1PodSpec> spec) =>
        Enumerable.Range(0, 3).Min(_ => MeasureRetainedPerPod(spec));

    private static double MeasureRetainedPerPod(Func<int, V1PodSpec> spec)
    {
        var index = new UsageIndex();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < Pods; i++)
        {
            // Realistic pod names (replica set hash plus suffix); the Pod object is dropped after extraction.
            var pod = Pod($"orders-api-7d9f8c6b5-{i:D5}", spec(i));
            index.Upsert(PodReferences.From(pod));
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(index);
        return (after - before) / (double)Pods;
    }
}
