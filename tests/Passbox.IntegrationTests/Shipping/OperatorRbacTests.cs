using System.Globalization;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Operator;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Provisioning;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// A control plane and MariaDB of their own: the audit log is then the record of this collection's operator runs
/// alone (still filtered by user and by a mark, as the control plane's own requests and the tests' are there too).
/// </summary>
[CollectionDefinition(Name)]
public sealed class OperatorRbacDefinition : ICollectionFixture<ControlPlaneFixture>, ICollectionFixture<MariaDbFixture>
{
    public const string Name = "operator rbac";
}

/// <summary>
/// The roles Passbox ships are exactly what the operator uses: a representative run, as the control plane's
/// <c>passbox-operator</c> user with leader election on, is compared with the chart's and config/rbac's rules.
/// </summary>
[Collection(OperatorRbacDefinition.Name)]
public sealed class OperatorRbacTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb, ITestOutputHelper output)
{
    public const string OperatorUser = "passbox-operator";

    /// <summary>
    /// Granted, but not necessarily seen in the audit log of the run. Keep this list short and say why each is needed.
    /// </summary>
    private static readonly Dictionary<string, string> GrantedButNotAlwaysSeen = new(StringComparer.Ordinal)
    {
        // The generated Secret's controller ownerReference sets blockOwnerDeletion, which a cluster's
        // OwnerReferencesPermissionEnforcement admission allows only with update on the owner's finalizers. Admission
        // checks it; no request of that verb is ever sent, so no audit entry names it.
        ["passbox.dev/clustercredentials/finalizers:update"] = "ownerReference blockOwnerDeletion (admission)",
        ["passbox.dev/pipelinecredentials/finalizers:update"] = "ownerReference blockOwnerDeletion (admission)",

        // Re-reads after a 409 on a finalizer or status patch (FinalizerManager, StatusWriter): a run may have no conflict.
        // (A managed user's admin credential is read from the informer's cache, not with a get.)
        ["passbox.dev/clustercredentials:get"] = "re-read after a conflict",
        ["passbox.dev/pipelinecredentials:get"] = "re-read after a conflict",
    };

    [SkippableFact]
    public async Task The_operator_uses_exactly_the_permissions_its_roles_grant()
    {
        var audit = controlPlane.AuditLog;
        Skip.If(audit is null, $"{ControlPlaneFixture.ExistingClusterVariable} is set: the audit log of an existing cluster is not readable");

        // The operator runs in a namespace of its own (the release namespace, where its lease is) and watches another.
        await using var home = await controlPlane.CreateNamespaceAsync("rbac-home");
        var mark = audit.Mark();
        var watched = await RunRepresentativeWorkloadAsync(home.Name);

        var entries = audit.Since(mark, OperatorUser);
        var nonResource = entries.Where(e => e.Resource is null).Select(e => e.RequestUri.Split('?')[0]).Distinct().ToList();
        var used = entries.Where(e => e.Resource is not null).Select(RbacRules.Permission).ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"{entries.Count} requests of {OperatorUser}; permissions used:\n  {string.Join("\n  ", used.Order(StringComparer.Ordinal))}");

        // The roles grant no nonResourceURLs: the operator needs no discovery, not even /version.
        nonResource.Should().BeEmpty("the operator requests only resources");

        foreach (var (source, documents) in new[]
        {
            ("charts/passbox", ShippingManifests.HelmDocuments()),
            ("config/default", ShippingManifests.KustomizeDocuments()),
        })
        {
            var granted = RbacRules.Permissions(documents.OfKind("ClusterRole").Single())
                .Union(RbacRules.Permissions(documents.OfKind("Role").Single()))
                .ToHashSet(StringComparer.Ordinal);

            used.Except(granted).Should().BeEmpty("the operator must be granted all it does ({0})", source);
            granted.Except(used).Except(GrantedButNotAlwaysSeen.Keys).Should().BeEmpty(
                "{0} must grant nothing the operator never uses (or the allow-list must say why)", source);
            GrantedButNotAlwaysSeen.Keys.Except(granted).Should().BeEmpty("the allow-list names only what {0} grants", source);
        }

        // Where each request went, against the chart installed in the operator's namespace: with every namespace
        // watched (a ClusterRole), and with watchNamespace set, where a Role in the watched namespace must suffice for
        // everything but reading CRDs. A list or watch across all namespaces would need the ClusterRole: refused there.
        foreach (var (install, values) in new[] { ("every namespace", Array.Empty<string>()), ("watchNamespace", [$"watchNamespace={watched}"]) })
        {
            var documents = YamlDocuments.Parse(ShippingManifests.RenderHelmChart(ShippingManifests.DefaultRelease, home.Name, values));
            ScopedGrants.From(documents).Refused(entries).Should().BeEmpty("the chart installed for {0} must allow each request where it is sent", install);
        }

        var namespaced = ScopedGrants.From(YamlDocuments.Parse(ShippingManifests.RenderHelmChart(ShippingManifests.DefaultRelease, home.Name, $"watchNamespace={watched}")));
        namespaced.InNamespace(watched).Except(entries.Where(e => e.Namespace == watched).Select(RbacRules.Permission)).Except(GrantedButNotAlwaysSeen.Keys)
            .Should().BeEmpty("the watched namespace's Role grants nothing the operator never uses there");

        used.Should().Contain("coordination.k8s.io/leases:update", "the run holds, renews and releases the lease")
            .And.Contain("core/events:patch", "a repeated event is aggregated")
            .And.Contain("core/secrets:delete", "a released credential deletes its Secret")
            .And.Contain("tekton.dev/pipelineruns:watch", "Tekton's CRDs exist, so its runs are watched")
            .And.Contain("argoproj.io/workflows:watch", "Argo's CRD exists, so its Workflows are watched")
            .And.Contain("core/secrets:patch", "Secrets are repaired and generated passwords rotated with patches")
            .And.Contain("apps/deployments:patch", "an opted-in Deployment is restarted")
            .And.Contain("apps/statefulsets:patch", "an opted-in StatefulSet is restarted")
            .And.Contain("apps/daemonsets:patch", "an opted-in DaemonSet is restarted")
            .And.NotContain("core/secrets:update", "no Secret is ever replaced whole");
    }

    /// <summary>
    /// User management: a user created through an admin credential, its generated password rotated (a Deployment, a
    /// StatefulSet and a DaemonSet that opted in are restarted), and the user dropped with its credential.
    /// </summary>
    private async Task ProvisionRotateAndDropAsync(ClusterTestKit kit, string namespaceName)
    {
        await kit.CreateSecretAsync("root-input", new Dictionary<string, string> { ["password"] = mariaDb.RootPassword });
        await kit.CreateAsync(MySql("root-admin", mariaDb.RootUser, s => s.PasswordSecretRef = new SecretKeyReference { Name = "root-input", Key = "password" }));
        await kit.CreateAsync(MySql("reports-db", $"rbac_{Guid.NewGuid():N}"[..13], s => s.Provisioning = new UserProvisioning
        {
            AdminCredentialRef = new LocalCredentialReference { Name = "root-admin" },
            DeletionPolicy = DeletionPolicy.Delete,
        }));
        var first = ClusterTestKit.Decode(await kit.WaitForSecretAsync("reports-db"))["password"];

        var optIn = new Dictionary<string, string> { [WorkloadRestarter.ReloadAnnotation] = "reports-db" };
        var template = new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "reports" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "registry.invalid/reports:1" }] },
        };
        var selector = new V1LabelSelector { MatchLabels = template.Metadata.Labels };
        var apps = controlPlane.Admin.AppsV1;
        await apps.CreateNamespacedDeploymentAsync(new V1Deployment { Metadata = new V1ObjectMeta { Name = "reports", Annotations = optIn }, Spec = new V1DeploymentSpec { Selector = selector, Template = template } }, namespaceName);
        await apps.CreateNamespacedStatefulSetAsync(new V1StatefulSet { Metadata = new V1ObjectMeta { Name = "reports", Annotations = optIn }, Spec = new V1StatefulSetSpec { ServiceName = "reports", Selector = selector, Template = template } }, namespaceName);
        await apps.CreateNamespacedDaemonSetAsync(new V1DaemonSet { Metadata = new V1ObjectMeta { Name = "reports", Annotations = optIn }, Spec = new V1DaemonSetSpec { Selector = selector, Template = template } }, namespaceName);

        await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync(GeneratedPasswordStore.SecretName("reports-db"), namespaceName);
        await kit.WaitForSecretAsync("reports-db", s => ClusterTestKit.Decode(s)["password"] != first);
        static bool Restarted(V1PodTemplateSpec t) => t.Metadata?.Annotations?.ContainsKey(WorkloadRestarter.RestartedAtAnnotation) == true;
        await ClusterTestKit.EventuallyAsync(async () =>
            Restarted((await apps.ReadNamespacedDeploymentAsync("reports", namespaceName)).Spec.Template)
            && Restarted((await apps.ReadNamespacedStatefulSetAsync("reports", namespaceName)).Spec.Template)
            && Restarted((await apps.ReadNamespacedDaemonSetAsync("reports", namespaceName)).Spec.Template),
            restarted => restarted, "the three opted-in workloads to be restarted");

        await kit.DeleteAsync<ClusterCredential>("reports-db");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("reports-db"), c => c is null, "the user to be dropped with its credential");
        await kit.DeleteAsync<ClusterCredential>("root-admin");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("root-admin"), c => c is null, "the admin credential to go");
    }

    private ClusterCredential MySql(string name, string username, Action<ClusterCredentialSpec> change)
    {
        var credential = new ClusterCredential
        {
            Metadata = new() { Name = name },
            Spec = new ClusterCredentialSpec
            {
                Engine = ClusterEngine.MySQL,
                Endpoint = new DatabaseEndpoint { Host = mariaDb.Host, Port = mariaDb.Port, Tls = new TlsSettings { Mode = TlsMode.Disabled } },
                Username = username,
                Validation = new ValidationSettings { Interval = "1h", Timeout = "3s" },
            },
        };
        change(credential.Spec);
        return credential;
    }

    /// <summary>
    /// Both kinds created and validated, Secrets published, repaired after a hand edit and a deletion, a deletion
    /// blocked by a Pod and finished once it is gone, events recorded and aggregated, the lease held and released,
    /// Tekton runs and Argo Workflows watched. The operator watches a namespace of the run's own (returned) and holds its
    /// lease in <paramref name="operatorNamespace"/>.
    /// </summary>
    private async Task<string> RunRepresentativeWorkloadAsync(string operatorNamespace)
    {
        // Tekton and Argo Workflows installed, as in a cluster that runs pipelines: their runs are watched too.
        foreach (var resource in PipelineEngineCrds.All)
        {
            await controlPlane.ApplyCrdAsync(PipelineEngineCrds.For(resource));
        }

        await using var ns = await controlPlane.CreateNamespaceAsync("rbac");
        var kit = new ClusterTestKit(controlPlane, ns.Name);
        var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name,
            "--leader-elect=true", $"--PASSBOX_LEADER_ELECTION_NAMESPACE={operatorNamespace}", $"--POD_NAME=rbac-{ns.Name}");
        try
        {
            await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "glpat-rbac-test-token" });
            await kit.CreateAsync(new PipelineCredential
            {
                Metadata = new() { Name = "deploy-token" },
                Spec = new PipelineCredentialSpec
                {
                    Type = PipelineCredentialType.SecretText,
                    Server = "https://git.example.com/team/app.git",
                    SecretText = new SecretTextSource { SecretRef = new SecretKeyReference { Name = "token-input", Key = "token" } },
                    Validation = new PipelineValidationSettings { Probe = PipelineProbe.None },
                    Secret = new PipelineSecretSettings { Consumers = [SecretConsumer.Jenkins] },
                },
            });

            var account = await mariaDb.CreateUserAsync($"rbac_{Guid.NewGuid():N}"[..13]);
            await kit.CreateSecretAsync("db-input", new Dictionary<string, string> { ["password"] = account.Password });
            await kit.CreateAsync(new ClusterCredential
            {
                Metadata = new() { Name = "orders-db" },
                Spec = new ClusterCredentialSpec
                {
                    Engine = ClusterEngine.MySQL,
                    Endpoint = new DatabaseEndpoint { Host = mariaDb.Host, Port = mariaDb.Port, Tls = new TlsSettings { Mode = TlsMode.Disabled } },
                    Username = account.LoginName,
                    PasswordSecretRef = new SecretKeyReference { Name = "db-input", Key = "password" },
                    Validation = new ValidationSettings { Interval = "1h", Timeout = "3s" },
                },
            });

            await kit.WaitForConditionAsync<PipelineCredential>("deploy-token", ConditionTypes.Ready, "True");
            await kit.WaitForConditionAsync<ClusterCredential>("orders-db", ConditionTypes.Ready, "True");
            await kit.WaitForSecretAsync("deploy-token");
            await kit.WaitForSecretAsync("orders-db");

            // Repairs: an edit is patched back, a deletion re-created; the second re-creation's "created" event is aggregated
            // (the first publication's event also tells the login, so it is a different message).
            await kit.SetSecretValueAsync("orders-db", "password", "edited-by-hand");
            await kit.WaitForSecretAsync("orders-db", s => ClusterTestKit.Decode(s)["password"] == account.Password);
            await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("orders-db", ns.Name);
            var recreated = await kit.WaitForSecretAsync("orders-db", s => ClusterTestKit.Decode(s)["password"] == account.Password);
            await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("orders-db", ns.Name);
            await kit.WaitForSecretAsync("orders-db", s => s.Metadata.Uid != recreated.Metadata.Uid && ClusterTestKit.Decode(s)["password"] == account.Password);

            // In-use protection: a running Pod mounting the Secret blocks the deletion until it is gone.
            await controlPlane.Admin.CoreV1.CreateNamespacedPodAsync(new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = "reporting" },
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "app", Image = "busybox", VolumeMounts = [new V1VolumeMount { Name = "db", MountPath = "/etc/db" }] }],
                    Volumes = [new V1Volume { Name = "db", Secret = new V1SecretVolumeSource { SecretName = "orders-db" } }],
                },
            }, ns.Name);
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orders-db"), c => c?.Status?.UsedBy?.Count == 1, "the Pod to be counted as a user");

            await kit.DeleteAsync<ClusterCredential>("orders-db");
            // Not WaitForConditionAsync: a blocked deletion reports on the condition, not in status.observedGeneration.
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orders-db"),
                c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ConditionReasons.InUse },
                "the deletion to be blocked by the Pod");
            (await kit.TryGetSecretAsync("orders-db")).Should().NotBeNull("the Secret stays while the Pod uses it");

            // The local control plane answers a Pod delete with a Status, which the typed client cannot read as a Pod.
            using (var deleted = await controlPlane.AdminApi.SendAsync(HttpMethod.Delete, $"api/v1/namespaces/{ns.Name}/pods/reporting", null, "application/json", false, CancellationToken.None))
            {
                deleted.IsSuccessStatusCode.Should().BeTrue();
            }

            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orders-db"), c => c is null, "the deletion to finish");
            await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync("orders-db"), s => s is null, "the generated Secret to be deleted");

            await ProvisionRotateAndDropAsync(kit, ns.Name);

            await kit.DeleteAsync<PipelineCredential>("deploy-token");
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>("deploy-token"), c => c is null, "the unused credential to go");

            var events = await kit.WaitForEventsAsync(seen => seen.Any(e => e.Count > 1), "a repeated event");
            events.Should().Contain(e => e.Reason == "DeletionBlocked");
            events.Should().Contain(e => e.Count > 1, "the re-created Secret repeats an event, which is counted rather than duplicated");
            output.WriteLine(string.Join('\n', events.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Type} {e.Reason} x{e.Count}: {e.Message}"))));
            return ns.Name;
        }
        finally
        {
            // A graceful stop releases the lease (get + update) before the audit log is read.
            await host.DisposeAsync();
        }
    }
}
