using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Shipping;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A credential kept in Git, applied with kubectl as a pipeline or Argo CD applies it, with the real operator checking it
/// against MariaDB: re-applied unchanged it shows no diff (the operator writes nothing into the spec or the metadata the
/// user applies, and the schema fills in no defaults), an edit that changes no login is waited for with
/// <c>kubectl wait</c> like any other, and moving to server-side apply under another field manager conflicts with nothing.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class GitOpsApplyTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb, ITestOutputHelper output) : IAsyncLifetime
{
    private OperatorRun run = null!;

    public async Task InitializeAsync() => run = await OperatorRun.StartAsync(controlPlane, "gitops");

    public async Task DisposeAsync() => await run.DisposeAsync();

    [Fact]
    public async Task Applied_from_Git_a_credential_shows_no_drift_and_kubectl_wait_returns_after_each_edit()
    {
        var user = await mariaDb.CreateUserAsync($"git_{Guid.NewGuid():N}"[..12]);
        run.MarkSecret(user.Password);
        await run.Kit.CreateSecretAsync("orders-input", new Dictionary<string, string> { ["password"] = user.Password });
        var manifest = Manifest(user.LoginName, description: null);

        Kubectl(manifest, "apply", "-f", "-").ExitCode.Should().Be(0);
        Kubectl(null, "wait", "--for=condition=Ready", "--timeout=60s", "clustercredential/orders").ExitCode.Should().Be(0);

        var diff = Kubectl(manifest, "diff", "-f", "-");
        diff.ExitCode.Should().Be(0, "kubectl diff of the applied manifest must be empty, found:\n{0}", diff.StandardOutput);

        // An edit that changes no login (the description): no new check, and each condition says it holds for it.
        var edited = Manifest(user.LoginName, description: "orders service, read-write");
        Kubectl(edited, "apply", "-f", "-").ExitCode.Should().Be(0);
        Kubectl(null, "wait", "--for=condition=Ready", "--timeout=30s", "clustercredential/orders").ExitCode.Should().Be(0);
        var validated = Kubectl(null, "wait", "--for=condition=Validated", "--timeout=30s", "clustercredential/orders");
        validated.ExitCode.Should().Be(0, "Validated=True holds for the edited spec too: {0}", validated.StandardError);

        // Argo CD with ServerSideApply=true takes over from client-side apply under its own field manager.
        var taken = Kubectl(edited, "apply", "--server-side", "--field-manager=argocd-controller", "-f", "-");
        taken.ExitCode.Should().Be(0, "nothing the operator owns may conflict: {0}", taken.StandardError);
        var serverDiff = Kubectl(edited, "diff", "--server-side", "--field-manager=argocd-controller", "-f", "-");
        serverDiff.ExitCode.Should().Be(0, "found:\n{0}", serverDiff.StandardOutput);
    }

    private string Manifest(string login, string? description) => $$"""
        apiVersion: passbox.dev/v1alpha1
        kind: ClusterCredential
        metadata: {name: orders, namespace: {{run.Namespace}}}
        spec:
          engine: MySQL
          {{(description is null ? "" : $"description: {description}")}}
          endpoint: {host: "{{mariaDb.Host}}", port: {{mariaDb.Port}}, tls: {mode: Disabled} }
          username: {{login}}
          passwordSecretRef: {name: orders-input, key: password}
        """;

    private ToolResult Kubectl(string? stdin, params string[] args)
    {
        var result = ShippingTools.TryRun(ShippingTools.Kubectl, ["--kubeconfig", controlPlane.AdminKubeconfig, "-n", run.Namespace, .. args], stdin: stdin ?? "");
        output.WriteLine($"kubectl {string.Join(' ', args)}: exit {result.ExitCode}\n{result.StandardOutput}{result.StandardError}");
        return result;
    }
}
