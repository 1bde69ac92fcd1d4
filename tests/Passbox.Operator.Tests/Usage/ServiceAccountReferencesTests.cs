using k8s.Models;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class ServiceAccountReferencesTests
{
    [Fact]
    public void Secrets_listed_by_a_service_account_are_references()
    {
        var serviceAccount = new V1ServiceAccount
        {
            Metadata = Meta("pipeline"),
            Secrets = [new V1ObjectReference { Name = "github-bot" }],
        };

        var references = ServiceAccountReferences.From(serviceAccount);

        references.Kind.Should().Be("ServiceAccount");
        references.SecretNames.Should().Equal("github-bot");
    }

    [Fact]
    public void Image_pull_secrets_of_a_service_account_are_references()
    {
        var serviceAccount = new V1ServiceAccount
        {
            Metadata = Meta("default"),
            ImagePullSecrets = [new V1LocalObjectReference { Name = "registry-bot" }],
        };

        ServiceAccountReferences.From(serviceAccount).SecretNames.Should().Equal("registry-bot");
    }

    [Fact]
    public void A_secret_listed_with_another_namespace_is_not_a_reference_here()
    {
        var serviceAccount = new V1ServiceAccount
        {
            Metadata = Meta("pipeline"),
            Secrets = [new V1ObjectReference { Name = "github-bot", NamespaceProperty = "other" }, new V1ObjectReference { Name = "local", NamespaceProperty = Ns }],
        };

        ServiceAccountReferences.From(serviceAccount).SecretNames.Should().Equal("local");
    }
}
