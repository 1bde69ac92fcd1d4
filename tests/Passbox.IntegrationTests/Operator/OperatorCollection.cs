using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// End-to-end tests of the operator. A collection of their own gets its own control plane and MariaDB, so they run
/// beside the runtime tests (which restart and compact their control plane) without disturbing them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class OperatorTestsDefinition : ICollectionFixture<ControlPlaneFixture>, ICollectionFixture<MariaDbFixture>
{
    public const string Name = "operator";
}
