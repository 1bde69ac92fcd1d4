using System.Globalization;
using System.Security.Cryptography;
using MySqlConnector;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;
using Passbox.Operator.Provisioning;

namespace Passbox.IntegrationTests.Connectors;

/// <summary>
/// Database-level grants on a real MariaDB, where <c>_</c> in <c>GRANT … ON `db`.*</c> is a wildcard even inside back
/// quotes: a grant on <c>pbx_…_db</c> must not reach <c>pbx_…Xdb</c>, and a second reconcile changes nothing.
/// </summary>
[Collection(MariaDbCollectionDefinition.Name)]
public sealed class MySqlUserAdminTests(MariaDbFixture db) : IAsyncLifetime
{
    private readonly MySqlUserAdmin _admin = new(DatabaseEngine.MySQL);
    private readonly string _tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
    private readonly List<string> _databases = [];
    private readonly List<string> _users = [];

    /// <summary>The application's database, with an underscore where the other one has an X.</summary>
    private string Own => $"pbx{_tag}_db";

    /// <summary>A database the unescaped pattern <c>pbx…_db</c> also matches.</summary>
    private string Other => $"pbx{_tag}Xdb";

    public async Task InitializeAsync()
    {
        foreach (var database in new[] { Own, Other })
        {
            await db.ExecuteAsync($"CREATE DATABASE `{database}`");
            await db.ExecuteAsync($"CREATE TABLE `{database}`.t (id INT)");
            await db.ExecuteAsync($"INSERT INTO `{database}`.t VALUES (1)");
            _databases.Add(database);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var user in _users)
        {
            await db.ExecuteAsync($"DROP USER IF EXISTS '{user}'@'%'");
        }

        foreach (var database in _databases)
        {
            await db.ExecuteAsync($"DROP DATABASE IF EXISTS `{database}`");
        }
    }

    private DatabaseLogin Root => new()
    {
        Host = db.Host,
        Port = db.Port,
        LoginName = db.RootUser,
        Password = db.RootPassword,
        Tls = TlsSettings.Disabled,
        Timeout = TimeSpan.FromSeconds(10),
    };

    private ManagedUser User(string name, string password, bool mayAdopt = false) => new()
    {
        Name = name,
        Password = password,
        MayAdopt = mayAdopt,
        Grants = [new SqlGrant(Own, ["SELECT"])],
    };

    private string NewUser()
    {
        var name = $"gr{_tag}_{_users.Count}";
        _users.Add(name);
        return name;
    }

    /// <summary>Reads one row of <c>db.t</c> as the user: true when allowed, false when the server refuses it.</summary>
    private async Task<bool> CanReadAsync(string user, string password, string database)
    {
        await using var connection = Connection(user, password);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM `{database}`.t";
        try
        {
            return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) == 1;
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.TableAccessDenied or MySqlErrorCode.DatabaseAccessDenied)
        {
            return false;
        }
    }

    private MySqlConnection Connection(string user, string password) => new(new MySqlConnectionStringBuilder
    {
        Server = db.Host,
        Port = (uint)db.Port,
        UserID = user,
        Password = password,
        Pooling = false,
        SslMode = MySqlSslMode.None,
        ConnectionTimeout = 5,
    }.ConnectionString);

    /// <summary>The user's database-level grant rows as the server stores them (patterns, with any escape).</summary>
    private async Task<string?> GrantRowsAsync(string user) =>
        Convert.ToString(await db.ScalarAsync(
            $"SELECT GROUP_CONCAT(Db ORDER BY Db SEPARATOR ' ') FROM mysql.db WHERE User = '{user}' AND Host = '%'"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_grant_on_a_database_with_an_underscore_covers_that_database_only_and_a_second_reconcile_changes_nothing()
    {
        var user = NewUser();
        var password = MariaDbFixture.NewPassword();

        var created = await _admin.EnsureUserAsync(Root, User(user, password), CancellationToken.None);

        created.Succeeded.Should().BeTrue(created.Message);
        (await CanReadAsync(user, password, Own)).Should().BeTrue("the user reads its own database");
        (await CanReadAsync(user, password, Other)).Should().BeFalse("the _ of its grant must not match the X of another database");
        (await GrantRowsAsync(user)).Should().Be($"pbx{_tag}\\_db", "the grant is stored escaped");

        var again = await _admin.EnsureUserAsync(Root, User(user, password, mayAdopt: true), CancellationToken.None);

        again.Succeeded.Should().BeTrue(again.Message);
        again.Message.Should().Contain("up to date").And.NotContain("revoked");
        (await GrantRowsAsync(user)).Should().Be($"pbx{_tag}\\_db");
        (await CanReadAsync(user, password, Own)).Should().BeTrue();
        (await CanReadAsync(user, password, Other)).Should().BeFalse();
    }

    [Fact]
    public async Task An_administrator_statement_that_waits_past_the_timeout_is_named_and_does_not_hold_back_the_server()
    {
        // A global read lock (a backup running FLUSH TABLES WITH READ LOCK) makes CREATE USER wait: the login went through,
        // and the outcome read "did not complete the login within 2s; check the host, port and firewall".
        var user = NewUser();
        await using var backup = Connection(db.RootUser, db.RootPassword);
        await backup.OpenAsync();
        await using (var command = backup.CreateCommand())
        {
            command.CommandText = "FLUSH TABLES WITH READ LOCK";
            await command.ExecuteNonQueryAsync();
        }

        UserAdminOutcome waited;
        try
        {
            waited = await _admin.EnsureUserAsync(Root with { Timeout = TimeSpan.FromSeconds(2) }, User(user, MariaDbFixture.NewPassword()), CancellationToken.None);
        }
        finally
        {
            await using var command = backup.CreateCommand();
            command.CommandText = "UNLOCK TABLES";
            await command.ExecuteNonQueryAsync();
        }

        waited.Succeeded.Should().BeFalse();
        waited.Reason.Should().Be(ValidationReasons.Timeout, waited.Message);
        waited.Message.Should().Contain($"did not finish the statement CREATE USER '{user}'@'%' within 2s")
            .And.NotContain("did not complete the login").And.NotContain("@password");
        var next = await _admin.EnsureUserAsync(Root with { Timeout = TimeSpan.FromSeconds(2) }, User(user, MariaDbFixture.NewPassword(), mayAdopt: true), CancellationToken.None);
        next.Succeeded.Should().BeTrue("a statement that ran out of time is no login left unanswered: " + next.Message);
    }

    [Fact]
    public async Task A_password_the_servers_policy_refuses_is_InvalidSpec_naming_the_policy_and_the_spec_field_to_change()
    {
        // MariaDB's simple_password_check (MySQL's validate_password answers with the same error 1819). Its defaults (8
        // characters, a digit, both cases, a symbol) take every generated password of the default policy; a stricter
        // length refuses any password of that length, however often one is generated, until the spec's length is raised.
        await db.ExecuteAsync("INSTALL SONAME 'simple_password_check'");
        try
        {
            var user = NewUser();
            (await _admin.EnsureUserAsync(Root, User(user, PasswordGenerator.Generate(symbols: false)), CancellationToken.None)).Reason
                .Should().Be(ValidationReasons.InvalidSpec, "the default policy wants a symbol");
            var taken = await _admin.EnsureUserAsync(Root, User(user, PasswordGenerator.Generate()), CancellationToken.None);
            taken.Succeeded.Should().BeTrue(taken.Message);
            await db.ExecuteAsync($"DROP USER '{user}'@'%'");

            await db.ExecuteAsync("SET GLOBAL simple_password_check_minimal_length = 32");
            var refused = await _admin.EnsureUserAsync(Root, User(user, PasswordGenerator.Generate()), CancellationToken.None);

            refused.Succeeded.Should().BeFalse();
            refused.Reason.Should().Be(ValidationReasons.InvalidSpec, refused.Message);
            refused.Message.Should().Contain("error 1819").And.Contain("simple_password_check").And.Contain("password policy").And.Contain("provisioning.passwordPolicy.length");
            refused.Created.Should().BeFalse("CREATE USER was refused: there is no user to drop");
            (await db.ScalarAsync($"SELECT COUNT(*) FROM mysql.user WHERE User = '{user}'")).Should().Be(0L);
            (await _admin.EnsureUserAsync(Root, User(user, PasswordGenerator.Generate(32)), CancellationToken.None)).Succeeded
                .Should().BeTrue("a generated password of the length the policy asks for is taken");
        }
        finally
        {
            await db.ExecuteAsync("UNINSTALL SONAME 'simple_password_check'");
        }
    }

    [Fact]
    public async Task A_wildcard_grant_an_older_Passbox_made_is_replaced_by_the_exact_one()
    {
        var user = NewUser();
        var password = MariaDbFixture.NewPassword();
        await db.CreateUserAsync(user, password);
        await db.ExecuteAsync($"REVOKE ALL PRIVILEGES ON `{MariaDbFixture.DatabaseName}`.* FROM '{user}'@'%'");
        // What Passbox wrote before the escaping: the bare name, which MariaDB reads as a pattern.
        await db.ExecuteAsync($"GRANT ALL PRIVILEGES ON `{Own}`.* TO '{user}'@'%'");
        (await CanReadAsync(user, password, Other)).Should().BeTrue("the unescaped grant is a wildcard (the defect)");

        var converged = await _admin.EnsureUserAsync(Root, User(user, password, mayAdopt: true), CancellationToken.None);

        converged.Succeeded.Should().BeTrue(converged.Message);
        converged.Message.Should().Contain("1 wildcard grant(s) of an older Passbox revoked");
        (await GrantRowsAsync(user)).Should().Be($"pbx{_tag}\\_db", "only the exact grant is left");
        (await CanReadAsync(user, password, Own)).Should().BeTrue();
        (await CanReadAsync(user, password, Other)).Should().BeFalse();

        var again = await _admin.EnsureUserAsync(Root, User(user, password, mayAdopt: true), CancellationToken.None);

        again.Succeeded.Should().BeTrue(again.Message);
        again.Message.Should().NotContain("revoked", "nothing is left to converge");
        (await GrantRowsAsync(user)).Should().Be($"pbx{_tag}\\_db");
    }

    [Fact]
    public async Task A_new_password_whose_grant_fails_is_not_set_so_the_published_one_still_logs_in()
    {
        var user = NewUser();
        var published = MariaDbFixture.NewPassword();
        await db.CreateUserAsync(user, published);
        var next = MariaDbFixture.NewPassword();

        var outcome = await _admin.EnsureUserAsync(await GrantlessAdminAsync(),
            User(user, next, mayAdopt: true) with { ResetPassword = true, PasswordPublished = false }, CancellationToken.None);

        outcome.Succeeded.Should().BeFalse("the administrator may not grant on the database");
        (await LogsInAsync(user, published)).Should().BeTrue("the password consumers read from the published Secret must keep working");
        (await LogsInAsync(user, next)).Should().BeFalse("the new password is set only once its grants went through");
    }

    [Fact]
    public async Task The_published_password_is_set_again_even_when_a_grant_fails_after_it()
    {
        var user = NewUser();
        await db.CreateUserAsync(user, MariaDbFixture.NewPassword()); // changed by hand: the published one is refused
        var published = MariaDbFixture.NewPassword();

        var outcome = await _admin.EnsureUserAsync(await GrantlessAdminAsync(),
            User(user, published, mayAdopt: true) with { ResetPassword = true, PasswordPublished = true }, CancellationToken.None);

        outcome.Succeeded.Should().BeFalse("the administrator may not grant on the database");
        (await LogsInAsync(user, published)).Should().BeTrue("setting the published password again repairs its consumers whatever fails after it");
    }

    /// <summary>An administrator that may create users and set their passwords, but not grant privileges.</summary>
    private async Task<DatabaseLogin> GrantlessAdminAsync()
    {
        var name = NewUser();
        var password = MariaDbFixture.NewPassword();
        await db.CreateUserAsync(name, password);
        await db.ExecuteAsync($"REVOKE ALL PRIVILEGES ON `{MariaDbFixture.DatabaseName}`.* FROM '{name}'@'%'");
        await db.ExecuteAsync($"GRANT CREATE USER ON *.* TO '{name}'@'%'");
        return Root with { LoginName = name, Password = password };
    }

    /// <summary>True when the server accepts the login, false when it refuses the password.</summary>
    private async Task<bool> LogsInAsync(string user, string password)
    {
        await using var connection = Connection(user, password);
        try
        {
            await connection.OpenAsync();
            return true;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.AccessDenied)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("my_ql")]
    [InlineData("mysql")]
    public async Task A_database_that_is_or_matches_a_system_schema_is_refused_before_anything_is_created(string database)
    {
        var user = NewUser();
        var spec = User(user, MariaDbFixture.NewPassword()) with { Grants = [new SqlGrant(database, ["ALL PRIVILEGES"])] };

        var outcome = await _admin.EnsureUserAsync(Root, spec, CancellationToken.None);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(ValidationReasons.InvalidSpec);
        outcome.Message.Should().Contain("provisioning.grants").And.Contain($"'{database}'").And.Contain("system schema");
        Convert.ToInt64(await db.ScalarAsync($"SELECT COUNT(*) FROM mysql.user WHERE User = '{user}'"), CultureInfo.InvariantCulture)
            .Should().Be(0);
    }
}
