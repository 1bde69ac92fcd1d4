using System.Text.Json.Nodes;
using k8s.Models;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class UsesAnnotationTests
{
    [Fact]
    public void The_annotation_lists_comma_separated_credential_names()
    {
        UsesAnnotation.Parse(" orders-ob, github-bot ,, ").Should().Equal("orders-ob", "github-bot");
        UsesAnnotation.Parse(null).Should().BeEmpty();
        UsesAnnotation.Parse("  ").Should().BeEmpty();
    }

    [Fact]
    public void Names_separated_by_blanks_or_one_a_line_are_several_names_not_one()
    {
        // passbox.dev/uses: |
        //   orders-ob
        //   github-bot
        UsesAnnotation.Parse("orders-ob\ngithub-bot\n").Should().Equal("orders-ob", "github-bot");
        UsesAnnotation.Parse("orders-ob github-bot,\tci-token").Should().Equal("orders-ob", "github-bot", "ci-token");
    }

    [Fact]
    public void Any_object_with_the_annotation_uses_the_credentials_it_names()
    {
        var configMap = Meta("app-settings", annotations: new Dictionary<string, string> { ["passbox.dev/uses"] = "orders-ob, github-bot" });

        var references = UsesAnnotation.From("ConfigMap", configMap);

        references.Kind.Should().Be("ConfigMap");
        references.CredentialNames.Should().Equal("github-bot", "orders-ob");
        references.SecretNames.Should().BeEmpty();
    }

    [Fact]
    public void An_untyped_object_with_the_annotation_uses_the_credentials_it_names()
    {
        var app = JsonNode.Parse($$"""
            {"apiVersion": "example.com/v1", "kind": "App", "metadata": {"name": "shop", "namespace": "{{Ns}}", "annotations": {"passbox.dev/uses": "orders-ob"} } }
            """)!;

        UsesAnnotation.From("App", app).CredentialNames.Should().Equal("orders-ob");
    }

    [Fact]
    public void The_annotation_on_a_pod_or_workload_adds_credentials_to_its_secrets()
    {
        var pod = Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"));
        pod.Metadata.Annotations = new Dictionary<string, string> { ["passbox.dev/uses"] = "github-bot" };
        var deployment = Deployment("orders-api", Spec());
        deployment.Spec.Template.Metadata.Annotations = new Dictionary<string, string> { ["passbox.dev/uses"] = "orders-ob" };

        PodReferences.From(pod).CredentialNames.Should().Equal("github-bot");
        PodReferences.From(pod).SecretNames.Should().Equal("orders-ob-conn");
        WorkloadReferences.From(deployment).CredentialNames.Should().Equal("orders-ob");
    }

    [Fact]
    public void An_annotated_object_blocks_the_credential_whatever_its_secret_is_called()
    {
        var index = new UsageIndex();
        index.Upsert(UsesAnnotation.From("ConfigMap", Meta("app-settings", annotations: new Dictionary<string, string> { ["passbox.dev/uses"] = "orders-ob" })));

        index.UsersOfCredential(Ns, "orders-ob", "orders-ob-conn").Should().Equal(new UsageUser("ConfigMap", "app-settings"));
        index.UsersOfCredential(Ns, "orders-ob", null).Should().Equal(new UsageUser("ConfigMap", "app-settings"));
        index.UsersOfSecret(Ns, "orders-ob").Should().BeEmpty("the annotation names credentials, not Secrets");
    }

    [Fact]
    public void An_object_without_the_annotation_uses_nothing()
    {
        UsesAnnotation.From("ConfigMap", new V1ObjectMeta { Name = "plain", NamespaceProperty = Ns }).IsEmpty.Should().BeTrue();
    }
}
