using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Passbox.IntegrationTests.Doubles.Milvus;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;

namespace Passbox.IntegrationTests.Connectors;

/// <summary>
/// TLS to the test MariaDB, whose certificate is signed by a test CA and names only IP 127.0.0.1 (so
/// <c>localhost</c> reaches the same server under a name the certificate does not hold). The server's per-user
/// counters (<c>userstat</c>) show whether a login reached it: a certificate that fails the check must end the
/// connection in the TLS handshake, before the password is sent.
/// </summary>
[Collection(MariaDbCollectionDefinition.Name)]
public sealed class MySqlTlsTests(MariaDbFixture db)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly MySqlDatabaseConnector _mysql = new();

    private DatabaseLogin Login(MariaDbAccount account, TlsSettings tls, string? host = null) => new()
    {
        Host = host ?? db.Host,
        Port = db.Port,
        LoginName = account.LoginName,
        Password = account.Password,
        Tls = tls,
        Timeout = Timeout,
    };

    /// <summary>The TLS version of a session opened as <paramref name="login"/> (empty: not encrypted), or why it failed.</summary>
    private static Task<string> SessionTlsVersionAsync(DatabaseLogin login) =>
        MySqlProtocol.WithSessionAsync(login, DatabaseEngine.MySQL, async (session, ct) =>
            Convert.ToString(await session.ScalarAsync("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_VERSION'", ct),
                CultureInfo.InvariantCulture) ?? string.Empty, failure => $"failed: {failure.Reason}: {failure.Message}", CancellationToken.None);

    [Fact]
    public async Task VerifyFull_with_the_servers_CA_logs_in_over_TLS()
    {
        var account = await db.CreateUserAsync("tls_full");
        var login = Login(account, new TlsSettings(TlsMode.VerifyFull, db.TlsCaPem));

        var outcome = await _mysql.ValidateAsync(login, CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        (await SessionTlsVersionAsync(login)).Should().StartWith("TLS");
    }

    [Fact]
    public async Task VerifyCA_ignores_the_host_name_but_VerifyFull_does_not()
    {
        var account = await db.CreateUserAsync("tls_name");

        var verifyCa = await _mysql.ValidateAsync(Login(account, new TlsSettings(TlsMode.VerifyCA, db.TlsCaPem), "localhost"), CancellationToken.None);
        var attemptsAfterVerifyCa = await db.LoginAttemptsAsync(account.LoginName);
        var verifyFull = await _mysql.ValidateAsync(Login(account, new TlsSettings(TlsMode.VerifyFull, db.TlsCaPem), "localhost"), CancellationToken.None);

        verifyCa.Succeeded.Should().BeTrue(verifyCa.Message);
        verifyFull.Reason.Should().Be(ValidationReasons.TLSFailed, verifyFull.Message);
        verifyFull.Message.Should().Contain("does not name the host");
        (await db.LoginAttemptsAsync(account.LoginName)).Should().Be(attemptsAfterVerifyCa, "VerifyFull stops at the host name, before the login");
        verifyFull.Message.Should().NotContain(account.Password);
    }

    [Theory]
    [InlineData(TlsMode.VerifyCA)]
    [InlineData(TlsMode.VerifyFull)]
    public async Task A_CA_that_did_not_sign_the_certificate_is_TLSFailed_and_the_server_sees_no_login(TlsMode mode)
    {
        var account = await db.CreateUserAsync($"tls_other_ca_{mode}".ToLowerInvariant());
        using var other = TestCertificates.Create();
        var before = await db.LoginAttemptsAsync(account.LoginName);

        var outcome = await _mysql.ValidateAsync(Login(account, new TlsSettings(mode, other.CaPem)), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain("not issued by the given CA");
        outcome.Message.Should().NotContain(account.Password);
        (await db.LoginAttemptsAsync(account.LoginName)).Should().Be(before, "the password must not be sent to a server whose certificate failed the check");

        // The login carried the right password, so had it reached the server it would have succeeded and been
        // counted, as the same login with the right CA is.
        var trusted = await _mysql.ValidateAsync(Login(account, new TlsSettings(mode, db.TlsCaPem)), CancellationToken.None);
        trusted.Succeeded.Should().BeTrue(trusted.Message);
        (await db.LoginAttemptsAsync(account.LoginName)).Should().Be(before + 1);
    }

    [Fact]
    public async Task Without_a_CA_the_system_store_does_not_trust_the_test_CA_and_no_login_is_sent()
    {
        var account = await db.CreateUserAsync("tls_system_store");
        var before = await db.LoginAttemptsAsync(account.LoginName);

        var outcome = await _mysql.ValidateAsync(Login(account, new TlsSettings(TlsMode.VerifyFull)), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain("system CA store");
        (await db.LoginAttemptsAsync(account.LoginName)).Should().Be(before);
    }

    [Fact]
    public async Task Required_encrypts_without_checking_the_certificate()
    {
        var account = await db.CreateUserAsync("tls_required");
        // Neither the CA (none given, not in the system store) nor the name (localhost) would pass a check.
        var login = Login(account, new TlsSettings(TlsMode.Required), "localhost");

        var outcome = await _mysql.ValidateAsync(login, CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        (await SessionTlsVersionAsync(login)).Should().StartWith("TLS");
    }

    /// <summary>
    /// Preferred (the default) and Required log in to whatever answers, impostors included: the passed check says the
    /// certificate was not checked, and how to have it checked, rather than reading like VerifyFull's.
    /// </summary>
    [Fact]
    public async Task A_login_whose_certificate_was_not_checked_says_so_and_a_checked_one_does_not()
    {
        var account = await db.CreateUserAsync("tls_said");

        var preferred = await _mysql.ValidateAsync(Login(account, new TlsSettings(TlsMode.Preferred)), CancellationToken.None);
        var required = await _mysql.ValidateAsync(Login(account, new TlsSettings(TlsMode.Required)), CancellationToken.None);
        var verified = await _mysql.ValidateAsync(Login(account, new TlsSettings(TlsMode.VerifyFull, db.TlsCaPem)), CancellationToken.None);

        preferred.Succeeded.Should().BeTrue(preferred.Message);
        preferred.Message.Should().Contain("certificate was not checked").And.Contain("may have been unencrypted").And.Contain("VerifyFull");
        required.Succeeded.Should().BeTrue(required.Message);
        required.Message.Should().Contain("certificate was not checked (tls.mode Required)").And.NotContain("unencrypted");
        verified.Succeeded.Should().BeTrue(verified.Message);
        verified.Message.Should().NotContain("not checked");
    }

    [Fact]
    public async Task Preferred_uses_TLS_when_the_server_offers_it_and_Disabled_does_not()
    {
        var account = await db.CreateUserAsync("tls_preferred");

        (await SessionTlsVersionAsync(Login(account, new TlsSettings(TlsMode.Preferred)))).Should().StartWith("TLS");
        (await SessionTlsVersionAsync(Login(account, TlsSettings.Disabled))).Should().BeEmpty();
    }

    [Fact]
    public async Task Required_TLS_against_a_server_without_TLS_is_TLSFailed_before_any_login()
    {
        await using var server = new PlainOnlyMySqlServer();

        var outcome = await _mysql.ValidateAsync(
            Login(new MariaDbAccount("app_rw", "unused-password"), new TlsSettings(TlsMode.Required)) with { Port = server.Port },
            CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain("TLS");
        server.PlainLoginReceived.Should().BeFalse("without TLS the credentials are not sent");
    }

    [Fact]
    public async Task Preferred_TLS_falls_back_to_plain_when_the_server_has_none()
    {
        await using var server = new PlainOnlyMySqlServer();

        var outcome = await _mysql.ValidateAsync(
            Login(new MariaDbAccount("app_rw", "unused-password"), new TlsSettings(TlsMode.Preferred)) with { Port = server.Port },
            CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed, "the login went on without TLS and the stand-in refused it: " + outcome.Message);
        server.PlainLoginReceived.Should().BeTrue();
    }

    /// <summary>
    /// A stand-in MySQL server without TLS: it greets without the SSL capability, takes one login packet and
    /// refuses it with error 1045.
    /// </summary>
    private sealed class PlainOnlyMySqlServer : IAsyncDisposable
    {
        private const uint ClientSsl = 0x800;
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        public PlainOnlyMySqlServer()
        {
            _listener.Start();
            _serving = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>True when a client sent its login (not an SSL request) over the plain connection.</summary>
        public bool PlainLoginReceived { get; private set; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _serving;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private async Task ServeAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var stream = client.GetStream();
                await WritePacketAsync(stream, 0, Greeting());
                var (sequence, payload) = await ReadPacketAsync(stream);
                if (payload is null || payload.Length < 4)
                {
                    // Gone, or COM_QUIT (a client that gave up on this server says goodbye).
                    continue;
                }

                var capabilities = BinaryPrimitives.ReadUInt32LittleEndian(payload);
                if ((capabilities & ClientSsl) == 0 && payload.Length > 32)
                {
                    PlainLoginReceived = true;
                }

                var error = new List<byte> { 0xff, 0x15, 0x04 };
                error.AddRange(Encoding.ASCII.GetBytes("#28000Access denied (stand-in server)"));
                await WritePacketAsync(stream, (byte)(sequence + 1), [.. error]);
            }
        }

        private static byte[] Greeting()
        {
            // Long password, found rows, long flag, connect with db, protocol 4.1, transactions, secure connection,
            // multi statements and results, plugin auth; no SSL.
            const uint capabilities = 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x10000 | 0x20000 | 0x80000;
            var greeting = new List<byte> { 10 };
            greeting.AddRange(Encoding.ASCII.GetBytes("5.7.99-plain-stand-in\0"));
            greeting.AddRange([1, 0, 0, 0]);
            greeting.AddRange(Encoding.ASCII.GetBytes("abcdefgh"));
            greeting.Add(0);
            greeting.AddRange([(byte)(capabilities & 0xff), (byte)((capabilities >> 8) & 0xff)]);
            greeting.Add(0x21);
            greeting.AddRange([2, 0]);
            greeting.AddRange([(byte)((capabilities >> 16) & 0xff), (byte)((capabilities >> 24) & 0xff)]);
            greeting.Add(21);
            greeting.AddRange(new byte[10]);
            greeting.AddRange(Encoding.ASCII.GetBytes("ijklmnopqrst\0"));
            greeting.AddRange(Encoding.ASCII.GetBytes("mysql_native_password\0"));
            return [.. greeting];
        }

        private static async Task WritePacketAsync(NetworkStream stream, byte sequence, byte[] payload)
        {
            var header = new byte[] { (byte)(payload.Length & 0xff), (byte)((payload.Length >> 8) & 0xff), (byte)((payload.Length >> 16) & 0xff), sequence };
            await stream.WriteAsync(header);
            await stream.WriteAsync(payload);
            await stream.FlushAsync();
        }

        private static async Task<(byte Sequence, byte[]? Payload)> ReadPacketAsync(NetworkStream stream)
        {
            var header = new byte[4];
            try
            {
                await stream.ReadExactlyAsync(header);
                var payload = new byte[header[0] | (header[1] << 8) | (header[2] << 16)];
                await stream.ReadExactlyAsync(payload);
                return (header[3], payload);
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException)
            {
                return (0, null);
            }
        }
    }
}
