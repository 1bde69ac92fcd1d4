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
/// Everything the operator does in a cluster, in one run: what the RBAC tests grant permissions for. Both kinds created
/// and validated, Secrets published, repaired after a hand edit and a deletion, a deletion blocked by a Pod and finished
/// once it is gone, a user provisioned, rotated (opted-in workloads restarted) and dropped, events recorded and
/// aggregated, the lease held and released, Tekton's and Argo Workflows' runs and definitions watched.
/// </summary>
public sealed class RepresentativeWorkload(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb, ITestOutputHelper output)
{
    /// <summary>
    /// Runs the operator, as the control plane's operator user with leader election on, holding its lease in
    /// <paramref name="operatorNamespace"/>, through the whole workload in <paramref name="watchedNamespace"/>; it has
    /// stopped (and released the lease) when this returns. The operator watches that namespace alone, or with
    /// <paramref name="watchEveryNamespace"/> all of them, as a cluster-wide installation does.
    /// </summary>
    public async Task RunAsync(string watchedNamespace, string operatorNamespace, bool watchEveryNamespace = false)
    {
        // Tekton and Argo Workflows installed, as in a cluster that runs pipelines: their runs are watched too.
        foreach (var resource in PipelineEngineCrds.All)
        {
            await controlPlane.ApplyCrdAsync(PipelineEngineCrds.For(resource));
        }

        var kit = new ClusterTestKit(controlPlane, watchedNamespace);
        var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, watchEveryNamespace ? string.Empty : watchedNamespace,
            "--leader-elect=true", $"--PASSBOX_LEADER_ELECTION_NAMESPACE={operatorNamespace}", $"--POD_NAME=rbac-{watchedNamespace}");
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
            var repaired = await kit.WaitForSecretAsync("orders-db", s => ClusterTestKit.Decode(s)["password"] == account.Password);
            await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("orders-db", watchedNamespace);
            var recreated = await kit.WaitForSecretAsync("orders-db", s => s.Metadata.Uid != repaired.Metadata.Uid && ClusterTestKit.Decode(s)["password"] == account.Password);
            await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("orders-db", watchedNamespace);
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
            }, watchedNamespace);
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orders-db"), c => c?.Status?.UsedBy?.Count == 1, "the Pod to be counted as a user");

            await kit.DeleteAsync<ClusterCredential>("orders-db");
            // Not WaitForConditionAsync: a blocked deletion reports on the condition, not in status.observedGeneration.
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orders-db"),
                c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ConditionReasons.InUse },
                "the deletion to be blocked by the Pod");
            (await kit.TryGetSecretAsync("orders-db")).Should().NotBeNull("the Secret stays while the Pod uses it");

            // The local control plane answers a Pod delete with a Status, which the typed client cannot read as a Pod.
            using (var deleted = await controlPlane.AdminApi.SendAsync(HttpMethod.Delete, $"api/v1/namespaces/{watchedNamespace}/pods/reporting", null, "application/json", false, CancellationToken.None))
            {
                deleted.IsSuccessStatusCode.Should().BeTrue();
            }

            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orders-db"), c => c is null, "the deletion to finish");
            await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync("orders-db"), s => s is null, "the generated Secret to be deleted");

            await ProvisionRotateAndDropAsync(kit, watchedNamespace);

            await kit.DeleteAsync<PipelineCredential>("deploy-token");
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>("deploy-token"), c => c is null, "the unused credential to go");

            var events = await kit.WaitForEventsAsync(seen => seen.Any(e => e.Count > 1), "a repeated event");
            events.Should().Contain(e => e.Reason == "DeletionBlocked");
            events.Should().Contain(e => e.Count > 1, "the re-created Secret repeats an event, which is counted rather than duplicated");
            output.WriteLine(string.Join('\n', events.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Type} {e.Reason} x{e.Count}: {e.Message}"))));
        }
        finally
        {
            // A graceful stop releases the lease (get + update) before the audit log is read.
            await host.DisposeAsync();
        }
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
}
