using System.Text;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Tests.Pipeline;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// The kubeconfig key is read by kubectl, Jenkins and Tekton tasks without a context flag: they go to the kubeconfig's
/// current-context. The check went to spec.kubeconfig.context, so the published kubeconfig must name that one.
/// </summary>
public sealed class PublishedKubeconfigTests
{
    private static PipelineCredential Credential(string? context, params SecretConsumer[] consumers) => new()
    {
        Metadata = new() { Name = "deploy", NamespaceProperty = "ci", Uid = "u1" },
        Spec = new PipelineCredentialSpec
        {
            Type = PipelineCredentialType.Kubeconfig,
            Kubeconfig = new KubeconfigSource { SecretRef = new SecretKeyReference { Name = "deploy-kubeconfig", Key = "kubeconfig" }, Context = context },
            Secret = new PipelineSecretSettings { Consumers = consumers.ToList() },
        },
    };

    private static string Published(string kubeconfig, string? context, params SecretConsumer[] consumers)
    {
        var cluster = ArgoClusterAccess.Read(kubeconfig, context, out var problem);
        var payload = PipelineSecretBuilder.Build(Credential(context, consumers), new PipelineSecretInputs(null, null, null, kubeconfig, cluster, problem));
        return Encoding.UTF8.GetString(payload.Data["kubeconfig"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Jenkins")]
    [InlineData("Tekton,ArgoCD,Jenkins")]
    public void A_consumer_without_a_context_flag_reaches_the_checked_context_not_the_kubeconfigs_current_one(string consumers)
    {
        // The sample's current-context is ci (cluster prod); the credential checked other (cluster staging).
        var published = Published(
            KubeconfigSamples.Valid,
            "other",
            consumers.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Enum.Parse<SecretConsumer>).ToArray());

        using var target = KubeconfigReader.Read(published, null).Target!;
        target.ContextName.Should().Be("other");
        target.Server.Should().Be(new Uri("https://127.0.0.1:7443"));
    }

    [Fact]
    public void A_kubeconfig_with_several_contexts_and_no_current_one_names_the_checked_context()
    {
        var kubeconfig = KubeconfigSamples.Valid.Replace("current-context: ci\n", "", StringComparison.Ordinal);

        var published = Published(kubeconfig, "ci", SecretConsumer.Jenkins);

        Kubeconfigs.Parse(published)!.CurrentContext.Should().Be("ci");
    }

    [Fact]
    public void Only_the_current_context_changes_the_rest_of_the_kubeconfig_stays()
    {
        var original = Kubeconfigs.Parse(KubeconfigSamples.Valid)!;

        var published = Kubeconfigs.Parse(Published(KubeconfigSamples.Valid, "other", SecretConsumer.Jenkins))!;

        published.Contexts.Select(c => (c.Name, c.ContextDetails.Cluster, c.ContextDetails.User))
            .Should().Equal(original.Contexts.Select(c => (c.Name, c.ContextDetails.Cluster, c.ContextDetails.User)));
        published.Clusters.Select(c => (c.Name, c.ClusterEndpoint.Server)).Should().Equal(original.Clusters.Select(c => (c.Name, c.ClusterEndpoint.Server)));
        // Compared without printing: the sample's credentials stand for real ones.
        published.Users.Select(u => (u.Name, u.UserCredentials.Token, u.UserCredentials.UserName, u.UserCredentials.Password))
            .SequenceEqual(original.Users.Select(u => (u.Name, u.UserCredentials.Token, u.UserCredentials.UserName, u.UserCredentials.Password)))
            .Should().BeTrue("the users and their credentials are published as written");
    }

    /// <summary>A context name YAML would read as another type (a boolean, a number, null) stays the name.</summary>
    [Theory]
    [InlineData("yes")]
    [InlineData("null")]
    [InlineData("0")]
    public void A_context_name_that_looks_like_another_YAML_type_stays_a_string(string context)
    {
        var kubeconfig = KubeconfigSamples.Valid.Replace("name: other", $"name: \"{context}\"", StringComparison.Ordinal);

        Kubeconfigs.Parse(Published(kubeconfig, context, SecretConsumer.Jenkins))!.CurrentContext.Should().Be(context);
    }

    /// <summary>Probe None publishes what it was given; broken YAML stays as it is rather than failing the build.</summary>
    [Theory]
    [InlineData("kind: Config", "kind: [Config")]
    [InlineData("kind: Config", "kind: {token: \"open")]
    public void Broken_YAML_is_published_as_given(string find, string replace)
    {
        var kubeconfig = KubeconfigSamples.Valid.Replace(find, replace, StringComparison.Ordinal);
        kubeconfig.Should().NotBe(KubeconfigSamples.Valid);

        (PublishedKubeconfig.ForContext(kubeconfig, "other") == kubeconfig).Should().BeTrue("broken YAML is published as given");
    }

    /// <summary>Existing Secrets keep their data: no rewrite (and no restart of the workloads using them) where nothing was wrong.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("ci")]
    public void Without_a_context_or_with_the_current_one_the_kubeconfig_is_published_byte_for_byte(string? context)
    {
        Published(KubeconfigSamples.Valid, context, SecretConsumer.Jenkins).Should().Be(KubeconfigSamples.Valid);
    }
}
