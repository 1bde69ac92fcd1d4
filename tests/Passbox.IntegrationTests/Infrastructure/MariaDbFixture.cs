using System.Globalization;
using System.Security.Cryptography;
using MySqlConnector;
using Passbox.IntegrationTests.Pipeline;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A private MariaDB server for the whole test run, started by <c>hack/services/mariadb.sh</c> on a
/// free loopback port. MariaDB accepts quoted user names such as <c>app@orders#obcluster</c>, so the
/// same server stands in for OBProxy (<c>user@tenant#cluster</c>) and for a direct OBServer login
/// (<c>user@tenant</c>): the client sends the name verbatim either way.
/// <para>
/// The server is stopped on dispose, and the script's watchdog stops it when the test process dies
/// (<c>--watch-pid</c>). Set <c>PASSBOX_TEST_MARIADB_ENV</c> to the <c>env</c> file of a server that
/// is already running to use it instead (it is then left running).
/// </para>
/// </summary>
public sealed class MariaDbFixture : IAsyncLifetime
{
    public const string DatabaseName = "orders_db";

    private ServiceScript? _server;

    public string Host { get; private set; } = "127.0.0.1";

    public int Port { get; private set; }

    /// <summary>A MySQL ClusterCredential logging in to this server as <paramref name="username"/>, password from key "password" of <paramref name="sourceSecret"/>.</summary>
    public Passbox.Operator.Api.V1Alpha1.ClusterCredential MySqlCredential(string name, string username, string sourceSecret) => new()
    {
        Metadata = new() { Name = name },
        Spec = new Passbox.Operator.Api.V1Alpha1.ClusterCredentialSpec
        {
            Engine = Passbox.Operator.Api.V1Alpha1.ClusterEngine.MySQL,
            Endpoint = new Passbox.Operator.Api.V1Alpha1.DatabaseEndpoint
            {
                Host = Host,
                Port = Port,
                Tls = new Passbox.Operator.Api.V1Alpha1.TlsSettings { Mode = Passbox.Operator.Api.V1Alpha1.TlsMode.Disabled },
            },
            Username = username,
            PasswordSecretRef = new Passbox.Operator.Api.V1Alpha1.SecretKeyReference { Name = sourceSecret, Key = "password" },
            Validation = new Passbox.Operator.Api.V1Alpha1.ValidationSettings { Interval = "1h", Timeout = "3s" },
        },
    };

    public string RootUser { get; private set; } = "root";

    /// <summary>
    /// PEM of the test CA that signed the server's TLS certificate (which names only IP 127.0.0.1, so
    /// <c>localhost</c> reaches the server under a name the certificate does not hold). The server accepts TLS
    /// and plain connections alike.
    /// </summary>
    public string TlsCaPem { get; private set; } = string.Empty;

    public string RootPassword { get; private set; } = string.Empty;

    /// <summary>A plain MySQL login, <c>app_rw</c>, with all privileges on <see cref="DatabaseName"/>.</summary>
    public MariaDbAccount MySqlUser { get; private set; } = null!;

    /// <summary>The OBProxy form <c>app@orders#obcluster</c>: user <c>app</c>, tenant <c>orders</c>, cluster <c>obcluster</c>.</summary>
    public MariaDbAccount OceanBaseProxyUser { get; private set; } = null!;

    /// <summary>The direct OBServer form <c>app@orders</c>.</summary>
    public MariaDbAccount OceanBaseDirectUser { get; private set; } = null!;

    /// <summary>The server's version, e.g. <c>10.11.6-MariaDB-0+deb12u1</c>.</summary>
    public string ServerVersion { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        (_server, var env) = await ServiceScript.StartOrAttachAsync("PASSBOX_TEST_MARIADB_ENV", "mariadb.sh");
        Host = env["MARIADB_HOST"];
        Port = int.Parse(env["MARIADB_PORT"], CultureInfo.InvariantCulture);
        RootUser = env["MARIADB_ROOT_USER"];
        RootPassword = env["MARIADB_ROOT_PASSWORD"];
        TlsCaPem = env.TryGetValue("MARIADB_TLS_CA", out var caFile)
            ? await File.ReadAllTextAsync(caFile)
            : throw new InvalidOperationException("The MariaDB env file names no MARIADB_TLS_CA: start the server with the current hack/services/mariadb.sh.");

        // Per-user login counters for the "one login per validation" assertions.
        await ExecuteAsync("SET GLOBAL userstat = 1");
        await ExecuteAsync($"CREATE DATABASE IF NOT EXISTS `{DatabaseName}`");
        MySqlUser = await CreateUserAsync("app_rw");
        OceanBaseProxyUser = await CreateUserAsync("app@orders#obcluster");
        OceanBaseDirectUser = await CreateUserAsync("app@orders");
        ServerVersion = Convert.ToString(await ScalarAsync("SELECT VERSION()"), CultureInfo.InvariantCulture) ?? string.Empty;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>
    /// A password with the characters connection strings trip over (<c>;</c>, <c>=</c>, <c>"</c>, <c>'</c>),
    /// random so that a leak into messages is easy to spot.
    /// </summary>
    public static string NewPassword() =>
        "pw;" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "=\"'x";

    /// <summary>Creates (or re-creates) a user allowed from anywhere with all privileges on <see cref="DatabaseName"/>.</summary>
    public async Task<MariaDbAccount> CreateUserAsync(string loginName, string? password = null)
    {
        password ??= NewPassword();
        await using var connection = await OpenRootAsync();
        await RunAsync(connection, $"DROP USER IF EXISTS {Quote(loginName)}@'%'");
        await RunAsync(connection, $"CREATE USER {Quote(loginName)}@'%' IDENTIFIED BY @password", ("@password", password));
        await RunAsync(connection, $"GRANT ALL ON `{DatabaseName}`.* TO {Quote(loginName)}@'%'");
        return new MariaDbAccount(loginName, password);
    }

    /// <summary>
    /// Login attempts for one user since the server started, successful or refused (wrong password),
    /// from <c>information_schema.USER_STATISTICS</c>. Attempts for unknown users are not counted there;
    /// use <see cref="GlobalStatusAsync"/> with <c>Connections</c> for those.
    /// </summary>
    public async Task<long> LoginAttemptsAsync(string loginName)
    {
        await using var connection = await OpenRootAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(TOTAL_CONNECTIONS + DENIED_CONNECTIONS), 0) FROM information_schema.USER_STATISTICS WHERE USER = @user";
        command.Parameters.AddWithValue("@user", loginName);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Refused logins of one user since the server started (wrong password), from <c>information_schema.USER_STATISTICS</c>.</summary>
    public async Task<long> RefusedLoginsAsync(string loginName)
    {
        await using var connection = await OpenRootAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(DENIED_CONNECTIONS), 0) FROM information_schema.USER_STATISTICS WHERE USER = @user";
        command.Parameters.AddWithValue("@user", loginName);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>A global status counter such as <c>Connections</c> or <c>Aborted_connects</c>.</summary>
    public async Task<long> GlobalStatusAsync(string name)
    {
        await using var connection = await OpenRootAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = @name";
        command.Parameters.AddWithValue("@name", name);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Runs admin SQL as root.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenRootAsync();
        await RunAsync(connection, sql);
    }

    /// <summary>Runs an admin query as root and returns the first column of the first row.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = await OpenRootAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    private async Task<MySqlConnection> OpenRootAsync()
    {
        var builder = new MySqlConnectionStringBuilder
        {
            Server = Host,
            Port = (uint)Port,
            UserID = RootUser,
            Password = RootPassword,
            Pooling = false,
            SslMode = MySqlSslMode.None,
            ConnectionTimeout = 10,
        };
        var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task RunAsync(MySqlConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    private static string Quote(string name) => "'" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
}

/// <summary>A test login on the MariaDB fixture. <see cref="ToString"/> leaves the password out.</summary>
public sealed record MariaDbAccount(string LoginName, string Password)
{
    public override string ToString() => $"{LoginName} (password: ***)";
}

[CollectionDefinition(Name)]
public sealed class MariaDbCollectionDefinition : ICollectionFixture<MariaDbFixture>
{
    public const string Name = "MariaDB";
}
