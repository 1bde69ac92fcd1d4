namespace Passbox.IntegrationTests.Shipping;

/// <summary>The Helm chart (default values, release "passbox") and the kustomize config deploy the same thing.</summary>
public sealed class PackagingConsistencyTests
{
    [Fact]
    public void Chart_and_kustomize_grant_the_same_cluster_permissions()
    {
        var chart = RbacRules.Permissions(ShippingManifests.HelmDocuments().OfKind("ClusterRole").Single());
        var kustomize = RbacRules.Permissions(ShippingManifests.KustomizeDocuments().OfKind("ClusterRole").Single());

        chart.Except(kustomize).Should().BeEmpty("config/rbac/operator/role.yaml must grant what charts/passbox/templates/_rbac.tpl grants");
        kustomize.Except(chart).Should().BeEmpty("charts/passbox/templates/_rbac.tpl must grant what config/rbac/operator/role.yaml grants");
        chart.Should().Contain("passbox.dev/clustercredentials/status:patch")
            .And.Contain("passbox.dev/pipelinecredentials/finalizers:update")
            .And.Contain("core/secrets:delete");
    }

    /// <summary>
    /// config/namespaced is the chart with watchNamespace: the same Role in the watched namespace, the same CRD-only
    /// ClusterRole, both bound to the operator's ServiceAccount where it runs, and the operator told the namespace.
    /// </summary>
    [Fact]
    public void Kustomize_namespaced_installs_what_the_chart_with_watchNamespace_installs()
    {
        const string watched = "team-a";
        var chart = ShippingManifests.HelmDocuments($"watchNamespace={watched}");
        var kustomize = YamlDocuments.Parse(ShippingManifests.RenderKustomize(ShippingManifests.KustomizeNamespaced));

        foreach (var kind in new[] { "Role", "ClusterRole" })
        {
            var role = kustomize.OfKind(kind, "passbox").Should().ContainSingle().Subject;
            RbacRules.Permissions(role).Should().BeEquivalentTo(RbacRules.Permissions(chart.OfKind(kind, "passbox").Single()), "config/namespaced's {0}", kind);
            ((string?)role["metadata"]!["namespace"]).Should().Be(kind == "Role" ? watched : null);
        }

        foreach (var kind in new[] { "RoleBinding", "ClusterRoleBinding" })
        {
            var binding = kustomize.OfKind(kind, "passbox").Should().ContainSingle().Subject;
            YamlDocuments.Canonical(binding["subjects"]).Should().Be(YamlDocuments.Canonical(chart.OfKind(kind, "passbox").Single()["subjects"]));
            ((string?)binding["roleRef"]!["kind"]).Should().Be(kind == "RoleBinding" ? "Role" : "ClusterRole");
        }

        var environment = kustomize.OfKind("Deployment").Single()["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray();
        environment.Should().ContainSingle(e => (string?)e!["name"] == "PASSBOX_WATCH_NAMESPACE").Which!["value"]!.GetValue<string>().Should().Be(watched);
        kustomize.Where(d => (string?)d["metadata"]!["namespace"] == watched).Select(d => (string?)d["kind"])
            .Should().BeEquivalentTo(["Role", "RoleBinding"], "nothing else goes to the watched namespace");

        // Its admission policy puts the finalizer on that namespace's credentials only, as the chart's does.
        var chartBinding = ShippingManifests.HelmDocumentsOnCluster([ShippingManifests.MutatingAdmissionPolicyApi], ShippingManifests.DefaultRelease, $"watchNamespace={watched}")
            .OfKind("MutatingAdmissionPolicyBinding").Single();
        var kustomizeBinding = YamlDocuments.Parse(ShippingManifests.RenderKustomize(ShippingManifests.KustomizeNamespaced + "/admission")).OfKind("MutatingAdmissionPolicyBinding").Single();
        YamlDocuments.Canonical(kustomizeBinding["spec"]).Should().Be(YamlDocuments.Canonical(chartBinding["spec"]));
    }

    [Fact]
    public void Chart_and_kustomize_grant_the_same_lease_permissions()
    {
        var chart = RbacRules.Permissions(ShippingManifests.HelmDocuments().OfKind("Role").Single());
        var kustomize = RbacRules.Permissions(ShippingManifests.KustomizeDocuments().OfKind("Role").Single());

        chart.Except(kustomize).Should().BeEmpty("config/rbac/leader_election_role.yaml must grant what the chart's Role grants");
        kustomize.Except(chart).Should().BeEmpty("the chart's Role must grant what config/rbac/leader_election_role.yaml grants");
    }

    [Fact]
    public void Chart_and_kustomize_ship_the_same_finalizer_policy()
    {
        var chart = ShippingManifests.HelmDocumentsOnCluster([ShippingManifests.MutatingAdmissionPolicyApi], ShippingManifests.DefaultRelease);
        var kustomize = YamlDocuments.Parse(ShippingManifests.RenderKustomize(ShippingManifests.KustomizeAdmission));

        foreach (var kind in new[] { "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding" })
        {
            var fromChart = chart.OfKind(kind).Single();
            var fromKustomize = kustomize.OfKind(kind).Single();
            ((string?)fromChart["metadata"]!["name"]).Should().Be((string?)fromKustomize["metadata"]!["name"]);
            YamlDocuments.Canonical(fromChart["spec"]).Should().Be(YamlDocuments.Canonical(fromKustomize["spec"]),
                "config/admission/finalizer-policy.yaml mirrors charts/passbox/templates/finalizer-policy.yaml for {0}", kind);
        }
    }

    [Fact]
    public void Chart_and_kustomize_ship_the_same_monitoring_and_it_selects_the_metrics_Service()
    {
        var chart = ShippingManifests.HelmDocuments("metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true");
        var kustomize = YamlDocuments.Parse(ShippingManifests.RenderKustomize("config/prometheus"));

        foreach (var kind in new[] { "ServiceMonitor", "PrometheusRule" })
        {
            var fromChart = chart.OfKind(kind).Single();
            var fromKustomize = kustomize.OfKind(kind).Single();
            ((string?)fromChart["metadata"]!["name"]).Should().Be((string?)fromKustomize["metadata"]!["name"]);
            ((string?)fromKustomize["metadata"]!["namespace"]).Should().Be(ShippingManifests.DefaultNamespace);
            YamlDocuments.Canonical(fromChart["spec"]).Should().Be(YamlDocuments.Canonical(fromKustomize["spec"]),
                "config/prometheus mirrors the chart's {0} with its default values", kind);
        }

        var service = ShippingManifests.KustomizeDocuments().OfKind("Service").Single();
        var selected = kustomize.OfKind("ServiceMonitor").Single()["spec"]!["selector"]!["matchLabels"]!.AsObject();
        selected.Should().NotBeEmpty();
        foreach (var (label, value) in selected)
        {
            ((string?)service["metadata"]!["labels"]![label]).Should().Be((string?)value, "config/default's metrics Service must carry {0}", label);
        }
    }

    [Fact]
    public void Chart_and_kustomize_run_the_same_pod()
    {
        var chart = HelmChartTests.PodSpec(ShippingManifests.HelmDocuments());
        var kustomize = HelmChartTests.PodSpec(ShippingManifests.KustomizeDocuments());

        YamlDocuments.Canonical(chart).Should().Be(YamlDocuments.Canonical(kustomize),
            "config/manager/manager.yaml mirrors charts/passbox/templates/deployment.yaml with default values");
    }

    [Fact]
    public void Chart_and_kustomize_select_the_operator_pods_with_the_same_labels()
    {
        static string Selector(IEnumerable<System.Text.Json.Nodes.JsonObject> docs) =>
            YamlDocuments.Canonical(docs.OfKind("Deployment").Single()["spec"]!["selector"]);

        Selector(ShippingManifests.HelmDocuments()).Should().Be(Selector(ShippingManifests.KustomizeDocuments()),
            "switching from one packaging to the other must not hit the immutable selector");
    }
}
