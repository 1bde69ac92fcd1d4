using System.Text.Json.Nodes;
using FluentAssertions.Execution;
using k8s;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Operator;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// A local control plane that enforces RBAC (<c>--authorization-mode=RBAC</c>, tests/controlplane/rbac.go), whose
/// operator user is the chart's ServiceAccount: only the roles the chart binds to it let the operator do anything.
/// </summary>
public sealed class RbacEnforcingControlPlane : IAsyncLifetime
{
    /// <summary>The ServiceAccount the chart creates for release <see cref="ShippingManifests.DefaultRelease"/>.</summary>
    public const string ServiceAccount = "passbox";

    public const string OperatorUser = $"system:serviceaccount:{ShippingManifests.DefaultNamespace}:{ServiceAccount}";

    public ControlPlaneFixture ControlPlane { get; } = new(new Dictionary<string, string>
    {
        ["PASSBOX_CP_APISERVER_ARGS"] = "--authorization-mode=RBAC",
        ["PASSBOX_CP_OPERATOR_USER"] = OperatorUser,
    });

    public Task InitializeAsync() => ControlPlane.InitializeAsync();

    public Task DisposeAsync() => ControlPlane.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class RbacEnforcementDefinition : ICollectionFixture<RbacEnforcingControlPlane>, ICollectionFixture<MariaDbFixture>
{
    public const string Name = "rbac enforced";
}

/// <summary>
/// The chart's roles are enough, where RBAC is enforced: the representative workload (everything the operator does)
/// runs as the chart's ServiceAccount with nothing but the chart's RBAC objects applied, and the API server refuses
/// none of the operator's requests. <see cref="OperatorRbacTests"/> compares the same run's requests with the rules;
/// here the API server decides.
/// </summary>
[Collection(RbacEnforcementDefinition.Name)]
public sealed class RbacEnforcementTests(RbacEnforcingControlPlane enforcing, MariaDbFixture mariaDb, ITestOutputHelper output)
{
    private static readonly string[] RbacKinds = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];

    private ControlPlaneFixture ControlPlane => enforcing.ControlPlane;

    [SkippableFact]
    public async Task With_the_charts_cluster_wide_roles_the_operator_watching_every_namespace_is_refused_nothing() =>
        await RunUnderRolesAsync(_ => ChartDocuments(watchNamespace: null), watchEveryNamespace: true);

    [SkippableFact]
    public async Task With_watchNamespace_the_Role_in_that_namespace_is_enough_for_everything() =>
        await RunUnderRolesAsync(ns => ChartDocuments(watchNamespace: ns), watchEveryNamespace: false);

    [SkippableFact]
    public async Task With_the_kustomize_configs_roles_the_operator_is_refused_nothing() =>
        await RunUnderRolesAsync(_ => ShippingManifests.KustomizeDocuments(), watchEveryNamespace: true);

    /// <summary>config/namespaced grants in team-a: rendered for the test's namespace instead.</summary>
    [SkippableFact]
    public async Task With_the_namespaced_kustomize_configs_roles_the_operator_is_refused_nothing() =>
        await RunUnderRolesAsync(
            ns => YamlDocuments.Parse(ShippingManifests.RenderKustomize(ShippingManifests.KustomizeNamespaced).Replace(" team-a\n", $" {ns}\n", StringComparison.Ordinal)),
            watchEveryNamespace: false);

    [SkippableFact]
    public async Task Without_a_role_the_operator_is_refused_so_the_enforcement_is_real()
    {
        Skip.If(!ControlPlane.IsLocal, $"{ControlPlaneFixture.ExistingClusterVariable} is set: RBAC is the existing cluster's");
        await using var ns = await ControlPlane.CreateNamespaceAsync("rbac-none");
        var operatorApi = ControlPlane.CreateOperatorApi();

        var list = () => operatorApi.Typed.CoreV1.ListNamespacedSecretAsync(ns.Name);

        (await list.Should().ThrowAsync<k8s.Autorest.HttpOperationException>()).Which.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.Forbidden);
    }

    /// <summary>
    /// A role made by hand for one namespace, without the chart's small ClusterRole to read CRDs: the operator cannot know
    /// whether Tekton or Argo runs use a Secret, so it does not start its controllers (it never releases a credential it
    /// cannot judge). It must say so where an administrator looks, and back off rather than hammer the API server.
    /// </summary>
    [SkippableFact]
    public async Task A_role_that_cannot_read_CRDs_leaves_the_operator_not_ready_saying_which_permission_is_missing()
    {
        Skip.If(!ControlPlane.IsLocal, $"{ControlPlaneFixture.ExistingClusterVariable} is set: RBAC is the existing cluster's");
        await using var ns = await ControlPlane.CreateNamespaceAsync("rbac-nocrd");
        var namespacedOnly = Manifest(ChartDocuments(watchNamespace: ns.Name).Where(d => d["kind"]!.GetValue<string>() is "Role" or "RoleBinding"));
        Kubectl("apply", namespacedOnly);
        try
        {
            var mark = ControlPlane.AuditLog!.Mark();
            await using var host = await OperatorHost.StartAsync(ControlPlane.OperatorKubeconfig, ns.Name);
            using var http = new HttpClient { BaseAddress = host.BaseAddress };

            var refusal = $"listing customresourcedefinitions.apiextensions.k8s.io was refused: 403 Forbidden: customresourcedefinitions.apiextensions.k8s.io " +
                $"is forbidden: User \"{RbacEnforcingControlPlane.OperatorUser}\" cannot list resource \"customresourcedefinitions\"";
            var body = await ClusterTestKit.EventuallyAsync(async () => await (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).Content.ReadAsStringAsync(),
                text => text.Contains(refusal, StringComparison.Ordinal), "/readyz to say which list was refused");
            body.Should().StartWith("Unhealthy");
            (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode.Should().Be(System.Net.HttpStatusCode.ServiceUnavailable);

            var warnings = host.LogLines.Where(l => l.Contains("was refused by the API server", StringComparison.Ordinal)).ToList();
            warnings.Should().NotBeEmpty().And.OnlyContain(l => l.Contains("the operator's role must allow get, list and watch on it", StringComparison.Ordinal));
            host.LogLines.Should().NotContain(l => l.Contains("customresourcedefinitions", StringComparison.Ordinal) && l.Contains("   at ", StringComparison.Ordinal),
                "a refusal is a missing permission, not a fault: no stack trace on every retry");

            // Backoff, not a hot loop: over the first 6 seconds a handful of tries (1, 2, 4 s apart), not hundreds.
            await Task.Delay(TimeSpan.FromSeconds(6));
            var tries = ControlPlane.AuditLog.Since(mark, RbacEnforcingControlPlane.OperatorUser).Count(e => e.Code == 403 && e.Resource == "customresourcedefinitions");
            output.WriteLine($"{tries} refused CRD lists; readyz: {body}");
            tries.Should().BeInRange(2, 10);
        }
        finally
        {
            Kubectl("delete", namespacedOnly);
        }
    }

    /// <summary>
    /// A role trimmed by hand so the operator may read Secrets but not create them: the login is still checked, and the
    /// refusal ends on the credential as SecretRejected in the API server's words (which permission, for whom), not as a
    /// crash or a silent retry loop.
    /// </summary>
    [SkippableFact]
    public async Task A_role_without_Secret_create_ends_as_SecretRejected_naming_the_missing_permission()
    {
        Skip.If(!ControlPlane.IsLocal, $"{ControlPlaneFixture.ExistingClusterVariable} is set: RBAC is the existing cluster's");
        await using var ns = await ControlPlane.CreateNamespaceAsync("rbac-nocreate");
        var documents = ChartDocuments(watchNamespace: ns.Name).Where(d => RbacKinds.Contains(d["kind"]!.GetValue<string>())).ToList();
        var secretsRule = documents.OfKind("Role", RbacEnforcingControlPlane.ServiceAccount).Single()["rules"]!.AsArray()
            .Single(rule => rule!["resources"]!.AsArray().Any(r => r!.GetValue<string>() == "secrets"))!;
        secretsRule["verbs"] = new JsonArray([.. secretsRule["verbs"]!.AsArray().Select(v => v!.GetValue<string>()).Where(v => v != "create").Select(v => JsonValue.Create(v))]);
        var roles = Manifest(documents);
        Kubectl("apply", roles);
        try
        {
            var kit = new ClusterTestKit(ControlPlane, ns.Name);
            var account = await mariaDb.CreateUserAsync($"rbac_{Guid.NewGuid():N}"[..13]);
            await kit.CreateSecretAsync("db-input", new Dictionary<string, string> { ["password"] = account.Password });
            await using var host = await OperatorHost.StartAsync(ControlPlane.OperatorKubeconfig, ns.Name);

            await kit.CreateAsync(mariaDb.MySqlCredential("orders-db", account.LoginName, "db-input"));

            var refused = await kit.WaitForConditionAsync<Passbox.Operator.Api.V1Alpha1.ClusterCredential>(
                "orders-db", Passbox.Operator.Api.V1Alpha1.ConditionTypes.SecretSynced, "False", "SecretRejected");
            var synced = refused.Status!.Conditions!.Single(c => c.Type == Passbox.Operator.Api.V1Alpha1.ConditionTypes.SecretSynced);
            output.WriteLine(synced.Message);
            synced.Message.Should().Contain($"User \"{RbacEnforcingControlPlane.OperatorUser}\" cannot create resource \"secrets\"")
                .And.NotContain(account.Password);
            refused.Status.Conditions!.Single(c => c.Type == Passbox.Operator.Api.V1Alpha1.ConditionTypes.Validated).Status
                .Should().Be("True", "the login itself worked; only the publication was refused");
            (await kit.TryGetSecretAsync("orders-db")).Should().BeNull();
        }
        finally
        {
            Kubectl("delete", roles);
        }
    }

    /// <param name="install">The installation's documents for the namespace the workload runs in.</param>
    /// <param name="watchEveryNamespace">The operator watches all namespaces (a cluster-wide installation), not only the workload's.</param>
    private async Task RunUnderRolesAsync(Func<string, IReadOnlyList<JsonObject>> install, bool watchEveryNamespace)
    {
        Skip.If(!ControlPlane.IsLocal, $"{ControlPlaneFixture.ExistingClusterVariable} is set: RBAC is the existing cluster's");
        var audit = ControlPlane.AuditLog!;
        await using var ns = await ControlPlane.CreateNamespaceAsync("rbac-enforced");
        var documents = install(ns.Name);
        documents.OfKind("ServiceAccount").Should().ContainSingle().Which["metadata"]!["name"]!.GetValue<string>()
            .Should().Be(RbacEnforcingControlPlane.ServiceAccount, "the control plane's operator user is that ServiceAccount");
        documents.OfKind("ServiceAccount").Single()["metadata"]!["namespace"]!.GetValue<string>().Should().Be(ShippingManifests.DefaultNamespace);
        var roles = Manifest(documents.Where(d => RbacKinds.Contains(d["kind"]!.GetValue<string>())));

        Kubectl("apply", roles);
        try
        {
            var mark = audit.Mark();
            await new RepresentativeWorkload(ControlPlane, mariaDb, output).RunAsync(ns.Name, ShippingManifests.DefaultNamespace, watchEveryNamespace);

            var requests = audit.Since(mark, RbacEnforcingControlPlane.OperatorUser);
            output.WriteLine($"{requests.Count} requests of {RbacEnforcingControlPlane.OperatorUser}");
            using (new AssertionScope())
            {
                requests.Should().HaveCountGreaterThan(50, "the whole workload ran as the ServiceAccount");
                if (watchEveryNamespace)
                {
                    requests.Should().Contain(e => e.Verb == "list" && e.Resource == "secrets" && e.Namespace == null,
                        "a cluster-wide installation lists across all namespaces, which only its ClusterRole allows");
                }

                requests.Where(e => e.Code == 403).Select(e => $"{e.Verb} {e.RequestUri}").Should().BeEmpty("the chart's roles must allow every request");
            }
        }
        finally
        {
            // The next test binds its own roles to the same ServiceAccount.
            Kubectl("delete", roles);
        }
    }

    private static IReadOnlyList<JsonObject> ChartDocuments(string? watchNamespace) =>
        YamlDocuments.Parse(ShippingManifests.RenderHelmChart(
            ShippingManifests.DefaultRelease, ShippingManifests.DefaultNamespace, watchNamespace is null ? [] : [$"watchNamespace={watchNamespace}"]));

    /// <summary>The documents as one List, as kubectl applies and deletes them.</summary>
    private static string Manifest(IEnumerable<JsonObject> documents) => new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "List",
        ["items"] = new JsonArray([.. documents.Select(d => d.DeepClone())]),
    }.ToJsonString();

    private void Kubectl(string verb, string manifest) =>
        ShippingTools.Run(ShippingTools.Kubectl, ["--kubeconfig", ControlPlane.AdminKubeconfig, verb, "-f", "-"], stdin: manifest);
}
