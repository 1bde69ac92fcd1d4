using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.IntegrationTests.Pipeline;

/// <summary>The Bearer challenge path against docker-registry's token auth and a token service of our own.</summary>
[Collection(RegistryTokenAuthCollectionDefinition.Name)]
public sealed class ContainerRegistryBearerTests(RegistryTokenAuthFixture registry)
{
    private readonly ContainerRegistryProbe probe = new();

    [Fact]
    public async Task Token_from_the_realm_logs_in_to_the_registry()
    {
        var issued = registry.Tokens.TokensIssued;

        var outcome = await probe.ProbeAsync(Request(registry.User, registry.Password), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Be("registry/2.0");
        registry.Tokens.TokensIssued.Should().Be(issued + 1);
    }

    [Fact]
    public async Task Access_token_field_is_accepted_too()
    {
        registry.Tokens.AccessTokenOnly = true;
        try
        {
            var outcome = await probe.ProbeAsync(Request(registry.User, registry.Password), CancellationToken.None);

            outcome.Succeeded.Should().BeTrue(outcome.Message);
        }
        finally
        {
            registry.Tokens.AccessTokenOnly = false;
        }
    }

    [Fact]
    public async Task Wrong_password_is_refused_by_the_token_service()
    {
        var refusals = registry.Tokens.Refusals;

        var outcome = await probe.ProbeAsync(Request(registry.User, "wrong"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain($"token service {registry.Tokens.Realm}").And.NotContain(registry.Password);
        registry.Tokens.Refusals.Should().Be(refusals + 1);
    }

    [Fact]
    public async Task Token_the_registry_does_not_accept_fails_authentication()
    {
        registry.Tokens.WrongAudience = true;
        try
        {
            var outcome = await probe.ProbeAsync(Request(registry.User, registry.Password), CancellationToken.None);

            outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
            outcome.Message.Should().StartWith("registry 127.0.0.1:").And.Contain("refused the login of user ci-bot");
        }
        finally
        {
            registry.Tokens.WrongAudience = false;
        }
    }

    private PipelineProbeRequest Request(string user, string password) =>
        new(registry.Url, user, password, null, null, TimeSpan.FromSeconds(10));
}
