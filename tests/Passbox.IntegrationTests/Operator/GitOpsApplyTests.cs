using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Shipping;
using Passbox.Operator.Api.V1Alpha1;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A credential kept in Git, applied with kubectl as a pipeline or Argo CD applies it, with the real operator checking it
/// against MariaDB: re-applied unchanged it shows no diff (the operator writes nothing into the spec or the metadata the
/// user applies, and the schema fills in no defaults but the status a new credential starts with), an edit that changes no login is waited for with
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

    [Fact]
    public async Task Flux_health_checks_see_a_credential_that_needs_a_fix_as_Stalled_and_one_the_operator_retries_as_in_progress()
    {
        // kstatus (Flux's health checks, kpt) reads a custom resource whose Ready is False as still in progress, unless a
        // Stalled condition is True: then it is Failed, and Flux stops waiting at once instead of after its timeout.
        var user = await mariaDb.CreateUserAsync($"kst_{Guid.NewGuid():N}"[..12]);
        const string wrongPassword = "not-the-password-7Q";
        run.MarkSecret(user.Password, wrongPassword);
        await run.Kit.CreateSecretAsync("wrong-input", new Dictionary<string, string> { ["password"] = wrongPassword });
        await run.Kit.CreateSecretAsync("orders-input", new Dictionary<string, string> { ["password"] = user.Password });
        await run.Kit.CreateSecretAsync("taken", new Dictionary<string, string> { ["note"] = "someone else's" });
        var closedPort = LoopbackPorts.Unused();
        var manifests = string.Join("\n---\n",
            Manifest(user.LoginName, description: null, name: "wrong", sourceSecret: "wrong-input"),
            Manifest(user.LoginName, description: null, name: "taken", secretName: "taken"),
            Manifest(user.LoginName, description: null, name: "down", port: closedPort));

        Kubectl(manifests, "apply", "-f", "-").ExitCode.Should().Be(0);

        // Needs a person: Stalled=True with Ready's reason, so `kubectl wait --for=condition=Stalled` returns.
        Kubectl(null, "wait", "--for=condition=Stalled", "--timeout=60s", "clustercredential/wrong", "clustercredential/taken").ExitCode.Should().Be(0);
        var wrong = (await run.Kit.GetAsync<ClusterCredential>("wrong"))!;
        wrong.Status!.ObservedGeneration.Should().Be(wrong.Metadata.Generation, "kstatus takes an older observedGeneration for work in progress");
        ConditionOf(wrong, ConditionTypes.Ready).Should().Match<V1Condition>(c => c.Status == "False" && c.Reason == "AuthenticationFailed");
        var stalled = ConditionOf(wrong, ConditionTypes.Stalled)!;
        stalled.Reason.Should().Be("AuthenticationFailed");
        stalled.Message.Should().Be(ConditionOf(wrong, ConditionTypes.Ready)!.Message);
        ConditionOf((await run.Kit.GetAsync<ClusterCredential>("taken"))!, ConditionTypes.Stalled)!.Reason.Should().Be("SecretConflict");

        // Retried by the operator itself (the server may come back): Ready=False without Stalled, in progress for kstatus.
        var down = await run.Kit.WaitForConditionAsync<ClusterCredential>("down", ConditionTypes.Ready, "False", "Unreachable", TimeSpan.FromSeconds(60));
        ConditionOf(down, ConditionTypes.Stalled).Should().BeNull();

        // Fixed: Stalled goes, and a Ready credential's status holds no more conditions than before.
        await run.Kit.SetSecretValueAsync("wrong-input", "password", user.Password);
        var fixedOne = await run.Kit.WaitForConditionAsync<ClusterCredential>("wrong", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(60));
        fixedOne.Status!.Conditions!.Select(c => c.Type).Should().Equal(ConditionTypes.Ready, ConditionTypes.SecretSynced, ConditionTypes.Validated);
    }

    [Fact]
    public async Task A_fix_naming_a_source_Secret_another_controller_has_not_made_yet_is_in_progress_not_stalled()
    {
        // Stalled for a refused password, then fixed in Git by naming a new Secret that External Secrets makes a moment
        // later: Ready stays False throughout, yet the new Secret gets its minute before kstatus reads the fix as Failed.
        var user = await mariaDb.CreateUserAsync($"ren_{Guid.NewGuid():N}"[..12]);
        const string wrongPassword = "not-the-password-8R";
        run.MarkSecret(user.Password, wrongPassword);
        await run.Kit.CreateSecretAsync("wrong-input", new Dictionary<string, string> { ["password"] = wrongPassword });
        Kubectl(Manifest(user.LoginName, description: null, sourceSecret: "wrong-input"), "apply", "-f", "-").ExitCode.Should().Be(0);
        Kubectl(null, "wait", "--for=condition=Stalled", "--timeout=60s", "clustercredential/orders").ExitCode.Should().Be(0);
        var refused = (await run.Kit.GetAsync<ClusterCredential>("orders"))!;
        var failingSince = new DateTimeOffset(DateTime.SpecifyKind(ConditionOf(refused, ConditionTypes.Ready)!.LastTransitionTime, DateTimeKind.Utc));
        var untilAMinuteOld = failingSince + TimeSpan.FromSeconds(62) - DateTimeOffset.UtcNow;
        if (untilAMinuteOld > TimeSpan.Zero)
        {
            await Task.Delay(untilAMinuteOld); // Ready False for longer than the grace a missing Secret gets
        }

        Kubectl(Manifest(user.LoginName, description: null, sourceSecret: "orders-v2"), "apply", "-f", "-").ExitCode.Should().Be(0);
        var waiting = await run.Kit.WaitForConditionAsync<ClusterCredential>("orders", ConditionTypes.Ready, "False", "SourceSecretMissing", TimeSpan.FromSeconds(60));
        waiting.Status!.ObservedGeneration.Should().Be(2);
        ConditionOf(waiting, ConditionTypes.Ready)!.LastTransitionTime.Should().Be(ConditionOf(refused, ConditionTypes.Ready)!.LastTransitionTime, "Ready stayed False");
        ConditionOf(waiting, ConditionTypes.Stalled)?.Status.Should().NotBe("True",
            "kstatus reads a True Stalled as Failed: the fix would fail a health check that passes moments later");

        await run.Kit.CreateSecretAsync("orders-v2", new Dictionary<string, string> { ["password"] = user.Password });
        var ready = await run.Kit.WaitForConditionAsync<ClusterCredential>("orders", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(60));
        ready.Status!.Conditions!.Select(c => c.Type).Should().Equal(ConditionTypes.Ready, ConditionTypes.SecretSynced, ConditionTypes.Validated);
    }

    [Fact]
    public async Task A_credential_the_operator_has_not_looked_at_yet_is_not_taken_for_reconciled()
    {
        // kstatus reads a custom resource without status or conditions as Current: a Flux health check that polled before
        // the operator's first status write passed, whatever the check would find. Stopped here, the operator cannot
        // win that race, as it may not in a cluster either.
        var user = await mariaDb.CreateUserAsync($"new_{Guid.NewGuid():N}"[..12]);
        run.MarkSecret(user.Password);
        await run.Kit.CreateSecretAsync("orders-input", new Dictionary<string, string> { ["password"] = user.Password });
        await run.StopOperatorAsync();

        Kubectl(Manifest(user.LoginName, description: null), "apply", "-f", "-").ExitCode.Should().Be(0);

        var fresh = (await run.Kit.GetAsync<ClusterCredential>("orders"))!;
        fresh.Metadata.Generation.Should().Be(1);
        fresh.Status.Should().NotBeNull("a status with an observedGeneration behind the spec is what kstatus reads as in progress");
        fresh.Status!.ObservedGeneration.Should().Be(0);
        fresh.Status.Conditions.Should().BeNull();
        var diff = Kubectl(Manifest(user.LoginName, description: null), "diff", "-f", "-");
        diff.ExitCode.Should().Be(0, "the status the schema fills in is no drift from Git: {0}", diff.StandardOutput);

        await run.StartOperatorAsync();
        var ready = await run.Kit.WaitForConditionAsync<ClusterCredential>("orders", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(60));
        ready.Status!.ObservedGeneration.Should().Be(1);
    }

    [Fact]
    public async Task Every_write_of_the_operator_is_recorded_under_its_own_field_manager()
    {
        // Without a field manager of its own the API server records the operator's writes under KubernetesClient's
        // User-Agent, kubernetes-csharp: what users read in --show-managed-fields and in their server-side applies' conflicts.
        var user = await mariaDb.CreateUserAsync($"fm_{Guid.NewGuid():N}"[..12]);
        run.MarkSecret(user.Password);
        await run.Kit.CreateSecretAsync("orders-input", new Dictionary<string, string> { ["password"] = user.Password });
        Kubectl(Manifest(user.LoginName, description: null), "apply", "-f", "-").ExitCode.Should().Be(0);
        Kubectl(null, "wait", "--for=condition=Ready", "--timeout=60s", "clustercredential/orders").ExitCode.Should().Be(0);
        // A change of the Secret's labels: the update of a Secret the operator created (its fields handed over to its apply).
        Kubectl(null, "patch", "clustercredential/orders", "--type=merge", "-p", """{"spec":{"secret":{"labels":{"team":"orders"}}}}""").ExitCode.Should().Be(0);
        await run.Kit.WaitForSecretAsync("orders", secret => secret.Metadata.Labels?.ContainsKey("team") == true);
        await run.Kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "SecretUpdated"), "the event of the Secret's update");

        // Managers only (the Secret's data stays out of the test output): manager/operation/subresource per entry.
        const string entries = """jsonpath={range .items[*]}{range .metadata.managedFields[*]}{.manager}/{.operation}/{.subresource}{"\n"}{end}{end}""";
        var credential = Managers(Kubectl(null, "get", "clustercredential", "--field-selector=metadata.name=orders", "--show-managed-fields", "-o", entries));
        var secret = Managers(Kubectl(null, "get", "secret", "--field-selector=metadata.name=orders", "--show-managed-fields", "-o", entries));
        var events = Managers(Kubectl(null, "get", "events", "--show-managed-fields", "-o", entries.Replace(".items[*]", """.items[?(@.involvedObject.name=="orders")]""", StringComparison.Ordinal)));

        credential.Should().Contain("passbox/Update/status", "the status patches").And.Contain("passbox/Update/", "the finalizer");
        secret.Should().NotBeEmpty().And.OnlyContain(entry => entry.StartsWith("passbox/", StringComparison.Ordinal));
        events.Should().NotBeEmpty().And.OnlyContain(entry => entry.StartsWith("passbox/", StringComparison.Ordinal));
        credential.Concat(secret).Concat(events).Should().NotContain(entry => entry.StartsWith("kubernetes-csharp", StringComparison.Ordinal));
    }

    private static List<string> Managers(ToolResult result)
    {
        result.ExitCode.Should().Be(0, result.StandardError);
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct()];
    }

    private static V1Condition? ConditionOf(ClusterCredential credential, string type) =>
        credential.Status?.Conditions?.Find(c => c.Type == type);

    private string Manifest(string login, string? description, string name = "orders", string sourceSecret = "orders-input",
        string? secretName = null, int? port = null) => $$"""
        apiVersion: passbox.dev/v1alpha1
        kind: ClusterCredential
        metadata: {name: {{name}}, namespace: {{run.Namespace}}}
        spec:
          engine: MySQL
          {{(description is null ? "" : $"description: {description}")}}
          endpoint: {host: "{{mariaDb.Host}}", port: {{port ?? mariaDb.Port}}, tls: {mode: Disabled} }
          username: {{login}}
          passwordSecretRef: {name: {{sourceSecret}}, key: password}
          {{(secretName is null ? "" : $"secret: {{name: {secretName}}}")}}
        """;

    private ToolResult Kubectl(string? stdin, params string[] args)
    {
        var result = ShippingTools.TryRun(ShippingTools.Kubectl, ["--kubeconfig", controlPlane.AdminKubeconfig, "-n", run.Namespace, .. args], stdin: stdin ?? "");
        output.WriteLine($"kubectl {string.Join(' ', args)}: exit {result.ExitCode}\n{result.StandardOutput}{result.StandardError}");
        return result;
    }
}
