using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using MySqlConnector;

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

    private string? _stateDir;
    private bool _ownsServer;

    public string Host { get; private set; } = "127.0.0.1";

    public int Port { get; private set; }

    public string RootUser { get; private set; } = "root";

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
        var existing = Environment.GetEnvironmentVariable("PASSBOX_TEST_MARIADB_ENV");
        var env = string.IsNullOrEmpty(existing) ? await StartAsync() : ReadEnv(existing);
        Host = env["MARIADB_HOST"];
        Port = int.Parse(env["MARIADB_PORT"], CultureInfo.InvariantCulture);
        RootUser = env["MARIADB_ROOT_USER"];
        RootPassword = env["MARIADB_ROOT_PASSWORD"];

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
        if (_ownsServer && _stateDir is not null)
        {
            await RunScriptAsync("stop", _stateDir);
            try
            {
                Directory.Delete(_stateDir, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp directory is harmless; the server is already stopped.
            }
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

    private async Task<Dictionary<string, string>> StartAsync()
    {
        _stateDir = Directory.CreateTempSubdirectory("passbox-it-mariadb-").FullName;
        _ownsServer = true;
        await RunScriptAsync("start", _stateDir, "--watch-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return ReadEnv(Path.Combine(_stateDir, "env"));
    }

    private static async Task RunScriptAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot(), "hack", "services", "mariadb.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start bash.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"hack/services/mariadb.sh {arguments[0]} failed (exit {process.ExitCode}); is MariaDB installed (hack/deps.sh)?\n{await stdout}{await stderr}");
        }
    }

    /// <summary>Reads a <c>KEY=VALUE</c> file; values may be single-quoted shell words.</summary>
    internal static Dictionary<string, string> ReadEnv(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith('#'))
            {
                continue;
            }

            var value = line[(eq + 1)..];
            if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'')
            {
                value = value[1..^1].Replace("'\\''", "'", StringComparison.Ordinal);
            }

            values[line[..eq]] = value;
        }

        return values;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "hack", "services", "mariadb.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"hack/services/mariadb.sh not found above {AppContext.BaseDirectory}.");
    }
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
