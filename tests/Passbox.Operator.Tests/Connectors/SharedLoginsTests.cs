using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Connectors;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>
/// Credentials that share a database user and a source Secret changed to a wrong password were each refused once: 200 of
/// them, 200 refused logins, enough to lock the account (MariaDB's max_password_errors, MySQL's FAILED_LOGIN_ATTEMPTS)
/// that every workload uses. Identical logins are now made as one, and a refusal answers the identical ones for a moment.
/// </summary>
public sealed class SharedLoginsTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly ServerDouble server = new();
    private readonly DatabaseConnectors connectors;

    public SharedLoginsTests() => connectors = new DatabaseConnectors([server], time);

    [Fact]
    public async Task A_storm_of_identical_refused_logins_makes_one_login_and_each_is_told_the_refusal_was_shared()
    {
        var outcomes = new List<ValidationOutcome>();
        for (var i = 0; i < 200; i++)
        {
            outcomes.Add(await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong"), $"team/c{i}", CancellationToken.None));
            time.Advance(TimeSpan.FromMilliseconds(20));
        }

        server.Logins.Should().Be(1, "200 credentials in 4 s share one refused login");
        outcomes.Should().OnlyContain(o => o.Reason == ValidationReasons.AuthenticationFailed);
        outcomes[0].SharedRefusalEndsIn.Should().BeNull("its own login was refused");
        outcomes[1].Message.Should().Contain("user and password were refused just now at an identical login").And.NotContain("wrong");
        outcomes[100].Message.Should().Contain("refused 2s ago");
        outcomes[1].SharedRefusalEndsIn.Should().Be(SharedLogins.RefusalKept - TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public async Task Identical_logins_running_at_once_wait_for_the_one_that_runs()
    {
        server.Gate = new TaskCompletionSource();
        var logins = Enumerable.Range(0, 50).Select(i => connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("right"), $"team/c{i}", CancellationToken.None)).ToList();
        server.Gate.SetResult();

        (await Task.WhenAll(logins)).Should().OnlyContain(o => o.Succeeded);
        server.Logins.Should().Be(1);
    }

    [Fact]
    public async Task Logins_that_joined_a_refused_one_are_told_so_and_may_log_in_once_more_when_it_is_no_longer_reused()
    {
        server.Gate = new TaskCompletionSource();
        var own = connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong"), "team/a", CancellationToken.None);
        var joined = connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong"), "team/b", CancellationToken.None);
        server.Gate.SetResult();

        (await own).SharedRefusalEndsIn.Should().BeNull();
        (await joined).SharedRefusalEndsIn.Should().Be(SharedLogins.RefusalKept);
        (await joined).Message.Should().Contain("user and password were refused just now at an identical login");
        server.Logins.Should().Be(1);
    }

    [Fact]
    public async Task A_refusal_is_reused_for_a_short_time_only_and_never_for_another_password_user_or_server()
    {
        await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong"), "team/a", CancellationToken.None);

        // The Secret fixed: another password is another login.
        (await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("right"), "team/b", CancellationToken.None)).Succeeded.Should().BeTrue();
        (await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong") with { LoginName = "other" }, "team/b", CancellationToken.None)).SharedRefusalEndsIn.Should().BeNull();
        (await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong") with { Port = 3307 }, "team/b", CancellationToken.None)).SharedRefusalEndsIn.Should().BeNull();
        server.Logins.Should().Be(4);

        // The password fixed on the server instead: a login a moment later is made again.
        server.Password = "wrong";
        time.Advance(SharedLogins.RefusalKept);
        (await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("wrong"), "team/b", CancellationToken.None)).Succeeded.Should().BeTrue();
        server.Logins.Should().Be(5);
    }

    [Fact]
    public async Task A_managed_users_login_is_its_own_and_its_success_ends_a_kept_refusal()
    {
        await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("new"), "team/a", CancellationToken.None);
        server.Password = "new"; // the administrator set it

        (await connectors.Shared.ValidateAloneAsync(DatabaseEngine.MySQL, Login("new"), CancellationToken.None)).Succeeded.Should().BeTrue();
        (await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("new"), "team/b", CancellationToken.None)).Succeeded.Should().BeTrue();
        server.Logins.Should().Be(3);
    }

    [Fact]
    public async Task A_login_cut_short_by_its_caller_leaves_the_ones_that_joined_it_to_log_in_themselves()
    {
        server.Gate = new TaskCompletionSource();
        using var first = new CancellationTokenSource();
        var cut = connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("right"), "team/a", first.Token);
        var joined = connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("right"), "team/b", CancellationToken.None);
        await first.CancelAsync();
        await FluentActions.Awaiting(() => cut).Should().ThrowAsync<OperationCanceledException>();
        server.Gate.SetResult();

        (await joined).Succeeded.Should().BeTrue();
        server.Logins.Should().Be(2);
    }

    [Fact]
    public async Task A_refused_API_key_reused_for_another_login_is_called_an_API_key_not_a_user_and_password()
    {
        var apiKeyLogin = new DatabaseLogin { Host = "db.test", Port = 19530, LoginName = "", ApiKey = "not-the-key" };
        await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, apiKeyLogin, "team/a", CancellationToken.None);

        var reused = await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, apiKeyLogin, "team/b", CancellationToken.None);

        server.Logins.Should().Be(1);
        reused.Message.Should().Contain("The same API key was refused just now at an identical login").And.NotContain("user and password");
    }

    [Fact]
    public async Task A_refusal_is_never_the_answer_to_the_credential_whose_own_login_it_was()
    {
        await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("old"), "team/a", CancellationToken.None);
        server.Password = "old"; // the password fixed on the server two seconds later, before a's next check
        time.Advance(TimeSpan.FromSeconds(2));

        (await connectors.Shared.ValidateAsync(DatabaseEngine.MySQL, Login("old"), "team/a", CancellationToken.None)).Succeeded
            .Should().BeTrue("its next check, at the interval its owner chose, must see the fix");
        server.Logins.Should().Be(2);
    }

    private static DatabaseLogin Login(string password) => new() { Host = "db.test", Port = 3306, LoginName = "app", Password = password };

    /// <summary>A server that takes one password, counting logins; with <see cref="Gate"/> set, logins wait for it.</summary>
    private sealed class ServerDouble : IDatabaseConnector
    {
        private int logins;

        public string Password { get; set; } = "right";

        public TaskCompletionSource? Gate { get; set; }

        public int Logins => logins;

        public DatabaseEngine Engine => DatabaseEngine.MySQL;

        public async Task<ValidationOutcome> ValidateAsync(DatabaseLogin login, CancellationToken ct)
        {
            Interlocked.Increment(ref logins);
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(ct);
            }

            return login.Password == Password
                ? ValidationOutcome.Success("Logged in")
                : ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, $"Access denied for '{login.LoginName}' at {login.Endpoint}");
        }
    }
}
