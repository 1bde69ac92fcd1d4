namespace Passbox.IntegrationTests.Shipping;

public sealed class KustomizeTests
{
    [Fact]
    public void Default_config_renders_crds_rbac_and_the_operator_in_passbox_system()
    {
        var docs = ShippingManifests.KustomizeDocuments();

        docs.OfKind("Namespace", "passbox-system").Should().ContainSingle();
        docs.OfKind("CustomResourceDefinition").Select(d => (string?)d["metadata"]!["name"])
            .Should().BeEquivalentTo(ShippingManifests.GeneratedCrdFiles().Values
                .Select(y => (string?)YamlDocuments.ParseSingle(y)["metadata"]!["name"]));
        docs.OfKind("ServiceAccount", "passbox").Should().ContainSingle();
        docs.OfKind("ClusterRole", "passbox").Should().ContainSingle();
        docs.OfKind("ClusterRoleBinding", "passbox").Should().ContainSingle();
        docs.OfKind("Role", "passbox-leader-election").Should().ContainSingle();
        docs.OfKind("RoleBinding", "passbox-leader-election").Should().ContainSingle();
        docs.OfKind("Service", "passbox-metrics").Should().ContainSingle();
        docs.OfKind("Deployment", "passbox").Should().ContainSingle();

        foreach (var doc in docs.Where(d => d["metadata"]!["namespace"] is not null))
        {
            ((string?)doc["metadata"]!["namespace"]).Should().Be("passbox-system", (string?)doc["metadata"]!["name"]);
        }
    }

    [Fact]
    public void Bindings_name_the_operator_service_account_in_its_namespace()
    {
        var docs = ShippingManifests.KustomizeDocuments();

        foreach (var binding in docs.OfKind("ClusterRoleBinding").Concat(docs.OfKind("RoleBinding")))
        {
            var subject = binding["subjects"]!.AsArray().Single()!;
            ((string?)subject["kind"]).Should().Be("ServiceAccount");
            ((string?)subject["name"]).Should().Be("passbox");
            ((string?)subject["namespace"]).Should().Be("passbox-system");
        }
    }

    [Fact]
    public void Namespace_enforces_the_restricted_pod_security_standard()
    {
        var ns = ShippingManifests.KustomizeDocuments().OfKind("Namespace").Single();

        ((string?)ns["metadata"]!["labels"]!["pod-security.kubernetes.io/enforce"]).Should().Be("restricted");
    }

    [Fact]
    public void Samples_kustomization_lists_every_sample()
    {
        var dir = ShippingTools.PathInRepo("config", "samples");
        var samples = Directory.GetFiles(dir, "*.yaml")
            .Select(f => Path.GetFileName(f))
            .Where(f => f != "kustomization.yaml");
        var kustomization = YamlDocuments.ParseSingle(File.ReadAllText(Path.Combine(dir, "kustomization.yaml")));

        kustomization["resources"]!.AsArray().Select(r => (string?)r).Should().BeEquivalentTo(samples);
        YamlDocuments.Parse(ShippingManifests.RenderKustomize("config/samples"))
            .Select(d => (string?)d["kind"]).Should().OnlyContain(k => k == "ClusterCredential" || k == "PipelineCredential");
    }
}
