using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The operator binary (as <c>make run</c>, the demo and the image start it) that cannot start says why in one line and
/// exits with 1: a kubeconfig that is not there, the port of /healthz and /metrics already taken (a second
/// <c>make run</c>). It used to abort with the exception unhandled: exit 134 (SIGABRT), the stack trace twice.
/// </summary>
public sealed class OperatorStartFailureTests(ITestOutputHelper output)
{
    [Fact]
    public void A_kubeconfig_that_is_not_there_ends_the_start_with_exit_code_1_and_one_line_naming_it()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"passbox-no-such-kubeconfig-{Guid.NewGuid():N}");

        var result = RunOperator($"--kubeconfig={missing}", "--urls=http://127.0.0.1:0");

        result.ExitCode.Should().Be(1, "a failed start is an error exit, not an abort");
        result.StandardError.Should().Contain($"passbox-operator: cannot start: Could not find file '{missing}'")
            .And.NotContain("Unhandled exception");
    }

    [Fact]
    public void A_port_already_taken_ends_the_start_with_exit_code_1_and_one_line_naming_it()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"passbox-start-{Guid.NewGuid():N}.kubeconfig");
        // Never contacted: the port is bound before the first request to the API server would matter.
        File.WriteAllText(kubeconfig, """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
            users: [{name: u, user: {token: not-a-token}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """);
        try
        {
            var result = RunOperator($"--kubeconfig={kubeconfig}", $"--urls=http://127.0.0.1:{port}", "--leader-elect=false");

            result.ExitCode.Should().Be(1, "a failed start is an error exit, not an abort");
            result.StandardError.Should().Contain($"passbox-operator: cannot start: Failed to bind to address http://127.0.0.1:{port}")
                .And.NotContain("Unhandled exception");
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    private ToolResult RunOperator(params string[] arguments)
    {
        // The operator build of the same configuration as this test assembly.
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = ShippingTools.PathInRepo("operator", "bin", configuration, "net10.0", "passbox-operator.dll");
        var result = ShippingTools.TryRun("dotnet", [dll, .. arguments], timeout: TimeSpan.FromMinutes(1));
        output.WriteLine($"exit {result.ExitCode}\n{result.StandardError}\n{result.StandardOutput}");
        return result;
    }
}
