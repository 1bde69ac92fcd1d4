using Passbox.IntegrationTests.Infrastructure;
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

        // Argo Rollouts are patched only when a restart is owed: the run has no Rollouts (it watches them, as their CRD exists).
        ["argoproj.io/rollouts:patch"] = "restart of an opted-in Rollout (spec.restartAt)",

        // Cluster-scoped: read only by an operator that watches every namespace, which the ClusterRole grants; this run
        // watches one namespace (RbacEnforcementTests runs one that watches all, under these roles).
        ["argoproj.io/clusterworkflowtemplates:list"] = "ClusterWorkflowTemplates, read by a cluster-wide installation only",
        ["argoproj.io/clusterworkflowtemplates:watch"] = "ClusterWorkflowTemplates, read by a cluster-wide installation only",
    };

    [SkippableFact]
    public async Task The_operator_uses_exactly_the_permissions_its_roles_grant()
    {
        var audit = controlPlane.AuditLog;
        Skip.If(audit is null, $"{ControlPlaneFixture.ExistingClusterVariable} is set: the audit log of an existing cluster is not readable");

        // The operator runs in a namespace of its own (the release namespace, where its lease is) and watches another.
        await using var home = await controlPlane.CreateNamespaceAsync("rbac-home");
        await using var ns = await controlPlane.CreateNamespaceAsync("rbac");
        var watched = ns.Name;
        var mark = audit.Mark();
        await new RepresentativeWorkload(controlPlane, mariaDb, output).RunAsync(watched, home.Name);

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
            .And.Contain("tekton.dev/tasks:watch", "Tekton's CRDs exist, so the Tasks its runs name are watched")
            .And.Contain("argoproj.io/workflows:watch", "Argo's CRD exists, so its Workflows are watched")
            .And.Contain("argoproj.io/cronworkflows:watch", "Argo's CRDs exist, so its CronWorkflows are watched")
            .And.Contain("argoproj.io/rollouts:watch", "Argo Rollouts' CRD exists, so its Rollouts are watched like Deployments")
            .And.NotContain("argoproj.io/clusterworkflowtemplates:list", "an operator watching one namespace does not read a cluster-scoped kind")
            .And.Contain("core/secrets:patch", "Secrets are repaired and generated passwords rotated with patches")
            .And.Contain("apps/deployments:patch", "an opted-in Deployment is restarted")
            .And.Contain("apps/statefulsets:patch", "an opted-in StatefulSet is restarted")
            .And.Contain("apps/daemonsets:patch", "an opted-in DaemonSet is restarted")
            .And.NotContain("core/secrets:update", "no Secret is ever replaced whole");
    }
}
