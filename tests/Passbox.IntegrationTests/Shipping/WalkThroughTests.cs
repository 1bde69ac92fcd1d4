using Passbox.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The README's walk-through is <c>make demo</c> (<c>hack/demo.sh</c>): a newcomer runs it on a fresh machine and
/// must see a Ready credential, a deletion blocked by the Job that mounts its Secret, and the deletion finishing once
/// the Job is gone. Running the script itself keeps the README's story from rotting.
/// </summary>
public sealed class WalkThroughTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void The_demo_shows_a_Ready_credential_then_a_deletion_blocked_by_a_Job_then_finished()
    {
        Skip.If(
            !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ControlPlaneFixture.ExistingClusterVariable)),
            $"{ControlPlaneFixture.ExistingClusterVariable} is set: the demo needs the local control plane");

        // The script runs the operator build of the same configuration as this test assembly.
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var result = ShippingTools.TryRun("bash", [ShippingTools.PathInRepo("hack", "demo.sh"), configuration]);
        output.WriteLine(Tail(result.StandardOutput + result.StandardError, 40));

        result.ExitCode.Should().Be(0, "the demo stops at the first step that does not behave as the README says");
        var lines = result.StandardOutput.Split('\n');
        lines.Should().Contain(l => l.StartsWith("orders-db", StringComparison.Ordinal) && l.Contains(" True ", StringComparison.Ordinal)
            && l.Contains("Validated", StringComparison.Ordinal), "kubectl get ccred shows the credential Ready");
        result.StandardOutput.Should().Contain("DeletionBlocked=True reason=InUse")
            .And.Contain("Job nightly-report", "the blocked deletion names the Job that mounts the Secret")
            .And.Contain("Warning   DeletionBlocked", "a Warning event says why the deletion waits")
            .And.Contain("Demo finished.");
        result.StandardOutput.Should().Contain("secret/orders-db-input", "the input Secret is the user's and stays")
            .And.NotContain("secret/orders-db ", "the generated Secret goes with the credential");
    }

    private static string Tail(string text, int lines) =>
        string.Join('\n', text.Split('\n').TakeLast(lines));
}
