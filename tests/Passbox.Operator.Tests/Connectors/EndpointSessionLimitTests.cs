using Microsoft.Extensions.Configuration;
using Passbox.Operator.Connectors;
using Passbox.Operator.Hosting;

namespace Passbox.Operator.Tests.Connectors;

public sealed class EndpointSessionLimitTests
{
    [Fact]
    public async Task A_session_over_the_limit_waits_until_one_at_the_same_endpoint_ends()
    {
        var limit = new EndpointSessionLimit(2);
        var first = await limit.EnterAsync("db:3306", CancellationToken.None);
        using var second = await limit.EnterAsync("db:3306", CancellationToken.None);

        var third = limit.EnterAsync("db:3306", CancellationToken.None);
        using var elsewhere = await limit.EnterAsync("other:3306", CancellationToken.None);

        third.IsCompleted.Should().BeFalse("two sessions are open to db:3306 already");
        limit.OpenTo("db:3306").Should().Be(2);
        first.Dispose();
        using var admitted = await third.WaitAsync(TimeSpan.FromSeconds(5));
        limit.OpenTo("db:3306").Should().Be(2);
    }

    [Fact]
    public async Task A_wait_given_up_takes_no_slot_and_endpoints_nobody_uses_are_forgotten()
    {
        var limit = new EndpointSessionLimit(1);
        var held = await limit.EnterAsync("DB:3306", CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var waiting = () => limit.EnterAsync("db:3306", cts.Token);

        await waiting.Should().ThrowAsync<OperationCanceledException>();
        limit.OpenTo("db:3306").Should().Be(1, "host names are compared without case");
        held.Dispose();
        held.Dispose();
        limit.OpenTo("db:3306").Should().Be(0);
        limit.EndpointsKnown.Should().Be(0);
        using var again = await limit.EnterAsync("db:3306", CancellationToken.None);
        limit.OpenTo("db:3306").Should().Be(1);
    }

    [Theory]
    [InlineData(null, EndpointSessionLimit.DefaultPerEndpoint)]
    [InlineData("8", 8)]
    [InlineData("0", EndpointSessionLimit.DefaultPerEndpoint)]
    [InlineData("many", EndpointSessionLimit.DefaultPerEndpoint)]
    public void The_limit_is_read_from_the_command_line(string? value, int expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(value is null ? [] : [new KeyValuePair<string, string?>("max-sessions-per-endpoint", value)])
            .Build();

        OperatorSettings.From(configuration).MaxSessionsPerEndpoint.Should().Be(expected);
    }
}
