using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The container image runs the native AOT build, which fails where the JIT build works when something reaches for
/// reflection the trimmer removed. So the suite publishes it as the Dockerfile does (<c>make publish-aot</c>, which
/// also fails on any new trim/AOT warning) and runs <c>hack/aot-smoke.sh</c> against it: MySQL validation and
/// provisioning, git and registry probes, a kubeconfig probe, a restart after a password change, rotation, leader
/// election and in-use protection, with no JSON handled by reflection.
/// </summary>
[Collection(NativeOperatorRun.Name)]
public sealed class NativeOperatorTests(ITestOutputHelper output)
{
    [Fact]
    public void The_native_binary_the_image_ships_passes_the_smoke_run()
    {
        var outDir = ShippingTools.PathInRepo(".cache", "aot-test");
        var publish = ShippingTools.TryRun("make", ["--no-print-directory", "publish-aot", $"AOT_OUT={outDir}"], timeout: TimeSpan.FromMinutes(25));
        output.WriteLine(Tail(publish.StandardOutput + publish.StandardError, 5));
        publish.ExitCode.Should().Be(0, "the native build publishes without new trim/AOT warnings");

        var smoke = ShippingTools.TryRun("bash", [ShippingTools.PathInRepo("hack", "aot-smoke.sh"), Path.Combine(outDir, "passbox-operator")], timeout: TimeSpan.FromMinutes(10));
        output.WriteLine(Tail(smoke.StandardOutput + smoke.StandardError, 60));
        smoke.ExitCode.Should().Be(0, "the native operator does what the smoke run checks");
        smoke.StandardOutput.Should().Contain("aot-smoke: PASSED");
    }

    private static string Tail(string text, int lines) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));
}

/// <summary>
/// Alone, after the parallel collections: the native compiler takes both cores for minutes, which would turn the
/// timing of other tests into noise.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeOperatorRun
{
    public const string Name = "native operator";
}
