using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// End-to-end tests of PipelineCredential: the operator on a control plane of its own, checking credentials against a
/// real git smart-HTTP server, a real container registry with htpasswd, one behind a Bearer token challenge, and the
/// control plane's own API for kubeconfigs.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PipelineOperatorTestsDefinition :
    ICollectionFixture<ControlPlaneFixture>, ICollectionFixture<GitHttpFixture>, ICollectionFixture<RegistryFixture>,
    ICollectionFixture<RegistryTokenAuthFixture>
{
    public const string Name = "pipeline operator";
}
