using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Passbox.IntegrationTests.Doubles.Milvus;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;
using Passbox.Operator.Connectors.Milvus.Protocol;

namespace Passbox.IntegrationTests.Connectors;

public sealed class MilvusConnectorTests : IAsyncLifetime
{
    private const string User = "app_user";
    private const string Password = "S3cret;pw=\"x";
    private const string ApiKey = "zilliz-key-0123456789abcdef";

    private readonly MilvusConnector _connector = new();
    private MilvusDouble _milvus = null!;

    public async Task InitializeAsync()
    {
        _milvus = await MilvusDouble.StartAsync();
        _milvus.State.AddUser(User, Password);
        _milvus.State.AddApiKey(ApiKey, "db_admin");
        _milvus.State.AddUser("db_admin", "Adm1n-password", MilvusDoubleState.AdminRole);
        _milvus.State.AddDatabase("vectors");
    }

    public async Task DisposeAsync() => await _milvus.DisposeAsync();

    private DatabaseLogin Login(string user = User, string? password = Password, string? database = null) => new()
    {
        Host = _milvus.Host,
        Port = _milvus.Port,
        LoginName = user,
        Password = password,
        Database = database,
        Timeout = TimeSpan.FromSeconds(5),
    };

    private DatabaseLogin KeyLogin(string apiKey) => Login(user: string.Empty, password: null) with { ApiKey = apiKey };

    [Fact]
    public async Task A_good_user_and_password_is_validated_with_one_login()
    {
        var outcome = await _connector.ValidateAsync(Login(), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Reason.Should().Be(ValidationReasons.Validated);
        outcome.ServerVersion.Should().Be("v2.6.0");
        outcome.Message.Should().Contain(User);
        _milvus.State.LoginAttempts(User).Should().Be(1);
    }

    [Fact]
    public async Task A_new_password_whose_role_change_fails_is_not_set_so_the_published_one_still_logs_in()
    {
        var user = new ManagedUser
        {
            Name = User,
            Password = "N3w-password-value",
            CurrentPassword = Password,
            MayAdopt = true,
            ResetPassword = true,
            PasswordPublished = false,
            Roles = ["no_such_role"],
        };

        var outcome = await new MilvusUserAdmin().EnsureUserAsync(Login("db_admin", "Adm1n-password"), user, CancellationToken.None);

        outcome.Succeeded.Should().BeFalse("the role does not exist");
        (await _connector.ValidateAsync(Login(), CancellationToken.None)).Succeeded.Should()
            .BeTrue("the password consumers read from the published Secret must keep working; the new one is set once the roles are");
    }

    [Fact]
    public async Task Plaintext_gRPC_goes_direct_even_with_a_proxy_set()
    {
        // An HTTP proxy would forward it as HTTP/1.1 and break it: no proxy setting may send it there.
        await using var proxy = new ConnectProxy((_, _) => throw new InvalidOperationException("not through the proxy"));
        var connector = new MilvusConnector(new WebProxy(proxy.Address));

        var outcome = await connector.ValidateAsync(Login(), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        proxy.Requested.Should().BeEmpty();
    }

    [Fact]
    public async Task The_version_is_asked_for_when_Connect_does_not_tell_it()
    {
        _milvus.State.ReportBuildTags = false;
        _milvus.State.Version = "v2.4.23";

        var outcome = await _connector.ValidateAsync(Login(), CancellationToken.None);

        outcome.ServerVersion.Should().Be("v2.4.23");
    }

    [Fact]
    public async Task A_version_that_quotes_the_password_is_not_kept_for_the_status()
    {
        // Whatever answers at the endpoint a credential names writes this text, and status.serverVersion (unlike the
        // message) was kept as the server sent it: a server echoing the login's password put it in the credential.
        _milvus.State.Version = $"v2.6.0-{Password}";

        var outcome = await _connector.ValidateAsync(Login(), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().BeNull();
        outcome.Message.Should().NotContain(Password);
    }

    [Fact]
    public async Task A_version_of_any_length_is_kept_short_and_one_line()
    {
        _milvus.State.Version = "v2.6.0-" + new string('x', 200_000);

        var outcome = await _connector.ValidateAsync(Login(), CancellationToken.None);

        outcome.ServerVersion.Should().NotBeNull();
        outcome.ServerVersion!.Length.Should().Be(ServerVersionText.MaxLength, "status.serverVersion keeps one short line of the server's words");
        outcome.ServerVersion.Should().StartWith("v2.6.0-xxx").And.EndWith(ServerVersionText.CutMark);

        _milvus.State.Version = "v2.6.0\ninjected line";
        (await _connector.ValidateAsync(Login(), CancellationToken.None)).ServerVersion.Should().BeNull();
    }

    [Fact]
    public async Task The_Validated_message_quotes_the_version_as_the_status_keeps_it()
    {
        // The message sits in the status beside serverVersion: the server's words there are bounded and one line as well.
        _milvus.State.Version = "v2.6.0-" + new string('x', 200_000);

        var outcome = await _connector.ValidateAsync(Login(), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue();
        outcome.Message.Should().Contain("; server " + outcome.ServerVersion);
        outcome.Message.Length.Should().BeLessThan(500, "the message quotes the version cut as status.serverVersion is");

        _milvus.State.Version = "v2.6.0\ninjected: line";
        (await _connector.ValidateAsync(Login(), CancellationToken.None)).Message.Should().NotContain("injected");
    }

    [Fact]
    public async Task A_good_API_key_is_validated()
    {
        var outcome = await _connector.ValidateAsync(KeyLogin(ApiKey), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().Contain("API key").And.NotContain(ApiKey);
        _milvus.State.ApiKeyLoginAttempts.Should().Be(1);
    }

    [Fact]
    public async Task A_wrong_password_is_an_authentication_failure_about_the_password()
    {
        var outcome = await _connector.ValidateAsync(Login(password: "wrong-password"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("user name and password").And.Contain(User).And.NotContain("wrong-password");
    }

    [Fact]
    public async Task An_unknown_user_is_an_authentication_failure()
    {
        var outcome = await _connector.ValidateAsync(Login(user: "ghost"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
    }

    [Fact]
    public async Task A_bad_API_key_is_an_authentication_failure_about_the_key()
    {
        var outcome = await _connector.ValidateAsync(KeyLogin("not-a-key"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("API key").And.Contain("api key is correct").And.NotContain("not-a-key");
    }

    [Fact]
    public async Task A_known_database_is_validated()
    {
        var outcome = await _connector.ValidateAsync(Login(database: "vectors"), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().Contain("vectors");
    }

    [Fact]
    public async Task An_unknown_database_is_DatabaseNotFound()
    {
        var outcome = await _connector.ValidateAsync(Login(database: "nope"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.DatabaseNotFound);
        outcome.Message.Should().Contain("'nope'");
    }

    [Fact]
    public async Task A_stopped_server_is_Unreachable_and_recovers_when_back()
    {
        (await _connector.ValidateAsync(Login(), CancellationToken.None)).Succeeded.Should().BeTrue();

        await _milvus.StopAsync();
        var down = await _connector.ValidateAsync(Login(), CancellationToken.None);

        down.Reason.Should().Be(ValidationReasons.Unreachable, down.Message);

        await _milvus.RestartAsync();
        var back = await _connector.ValidateAsync(Login(), CancellationToken.None);

        back.Succeeded.Should().BeTrue(back.Message);
        _milvus.State.LoginAttempts(User).Should().Be(2);
    }

    [Fact]
    public async Task A_server_without_Connect_is_checked_with_CheckHealth()
    {
        _milvus.State.ConnectUnimplemented = true;

        var outcome = await _connector.ValidateAsync(Login(), CancellationToken.None);
        var badPassword = await _connector.ValidateAsync(Login(password: "wrong-password"), CancellationToken.None);
        var badDatabase = await _connector.ValidateAsync(Login(database: "nope"), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Be("v2.6.0");
        badPassword.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        badDatabase.Reason.Should().Be(ValidationReasons.DatabaseNotFound);
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_quickly()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var watch = Stopwatch.StartNew();

        var outcome = await _connector.ValidateAsync(
            Login() with { Port = ((IPEndPoint)silent.LocalEndpoint).Port, Timeout = TimeSpan.FromSeconds(1) }, CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Timeout, outcome.Message);
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Checks_and_administrator_sessions_on_a_server_that_hangs_hold_no_more_connections_than_the_endpoint_limit()
    {
        // Each Milvus check (and each administrator session) is a client with its own HTTP/2 connection: with more workers
        // than --max-sessions-per-endpoint, a hanging server got one connection per worker, not at most the limit.
        await using var path = TcpForwarder.Start(_milvus.Host, _milvus.Port);
        path.Stall();
        var limit = EndpointSessionLimit.Shared.PerEndpoint;
        var login = Login() with { Port = path.Port };
        var holding = Enumerable.Range(0, limit)
            .Select(_ => Task.Run(() => _connector.ValidateAsync(login with { Timeout = TimeSpan.FromSeconds(6) }, CancellationToken.None)))
            .ToList();
        await Task.Delay(TimeSpan.FromSeconds(1));

        var late = await Task.WhenAll(Enumerable.Range(0, 3)
            .Select(_ => Task.Run(() => _connector.ValidateAsync(login with { Timeout = TimeSpan.FromSeconds(1) }, CancellationToken.None))));
        var admin = await new MilvusUserAdmin().DropUserAsync(Login("db_admin", "Adm1n-password") with { Port = path.Port, Timeout = TimeSpan.FromSeconds(1) },
            "someone", CancellationToken.None);
        var open = path.OpenConnections;
        await Task.WhenAll(holding);

        open.Should().Be(limit, "sessions beyond the limit wait for a free one instead of connecting");
        late.Should().OnlyContain(o => o.Reason == ValidationReasons.Timeout && o.Message.Contains("--max-sessions-per-endpoint", StringComparison.Ordinal));
        admin.Reason.Should().Be(ValidationReasons.Timeout, admin.Message);
        admin.Message.Should().Contain("--max-sessions-per-endpoint").And.EndWith(".", "a condition message is a sentence, as the check's own");
        EndpointSessionLimit.Shared.OpenTo($"{_milvus.Host}:{path.Port}").Should().Be(0, "every client closed its connection and gave its slot back");
    }

    [Fact]
    public async Task TLS_against_a_plaintext_server_is_TLSFailed()
    {
        var outcome = await _connector.ValidateAsync(Login() with { Tls = new TlsSettings(TlsMode.Required) }, CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
    }

    [Fact]
    public async Task The_client_manages_users_on_the_double()
    {
        using var root = MilvusClient.Create(Login(MilvusDoubleState.RootUser, MilvusDoubleState.DefaultRootPassword));

        await root.CreateCredentialAsync("reporter", "r3porter-pw", CancellationToken.None);
        await root.AddUserToRoleAsync("reporter", MilvusDoubleState.PublicRole, CancellationToken.None);
        (await root.ListCredUsersAsync(CancellationToken.None)).Should().Contain("reporter");
        var users = await root.SelectUserAsync("reporter", includeRoles: true, CancellationToken.None);
        users.Should().ContainSingle().Which.Roles.Should().Equal(MilvusDoubleState.PublicRole);
        _milvus.State.PasswordOf("reporter").Should().Be("r3porter-pw");

        // Root is not a superuser unless configured so; with the wrong old password its reset is refused too.
        var rootWithWrongOld = () => root.UpdateCredentialAsync("reporter", "not-the-old-one", "n3w-password", CancellationToken.None);
        (await rootWithWrongOld.Should().ThrowAsync<MilvusStatusException>()).Which.Code.Should().Be(MilvusStatus.NotAuthenticated);
        _milvus.State.AddSuperUser(MilvusDoubleState.RootUser);
        await root.UpdateCredentialAsync("reporter", "ignored-for-a-superuser", "n3w-password", CancellationToken.None);
        (await _connector.ValidateAsync(Login("reporter", "n3w-password"), CancellationToken.None)).Succeeded.Should().BeTrue();

        var deleteRoot = () => root.DeleteCredentialAsync(MilvusDoubleState.RootUser, CancellationToken.None);
        (await deleteRoot.Should().ThrowAsync<MilvusStatusException>()).Which.Code.Should().Be(MilvusStatus.NotPermitted);

        using var reporter = MilvusClient.Create(Login("reporter", "n3w-password"));
        var wrongOld = () => reporter.UpdateCredentialAsync("reporter", "not-the-old-one", "an0ther-pw", CancellationToken.None);
        (await wrongOld.Should().ThrowAsync<MilvusStatusException>()).Which.Code.Should().Be(MilvusStatus.NotAuthenticated);
        var createAsReporter = () => reporter.CreateCredentialAsync("sneaky", "sneaky-pw", CancellationToken.None);
        (await createAsReporter.Should().ThrowAsync<Grpc.Core.RpcException>()).Which.StatusCode.Should().Be(Grpc.Core.StatusCode.PermissionDenied);

        await root.DeleteCredentialAsync("reporter", CancellationToken.None);
        (await _connector.ValidateAsync(Login("reporter", "n3w-password"), CancellationToken.None)).Reason.Should().Be(ValidationReasons.AuthenticationFailed);
    }

    [Fact]
    public async Task A_request_without_authorization_gets_Milvus_message()
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://{_milvus.Host}:{_milvus.Port}");
        // Spelled out by hand to pin the wire path Milvus clients use.
        var getVersion = new Grpc.Core.Method<GetVersionRequest, GetVersionResponse>(
            Grpc.Core.MethodType.Unary,
            "milvus.proto.milvus.MilvusService",
            "GetVersion",
            Grpc.Core.Marshallers.Create<GetVersionRequest>(r => r.ToByteArray(), GetVersionRequest.Parser.ParseFrom),
            Grpc.Core.Marshallers.Create<GetVersionResponse>(r => r.ToByteArray(), GetVersionResponse.Parser.ParseFrom));

        var call = async () => await channel.CreateCallInvoker().AsyncUnaryCall(getVersion, null, default, new GetVersionRequest());

        var thrown = await call.Should().ThrowAsync<Grpc.Core.RpcException>();
        thrown.Which.StatusCode.Should().Be(Grpc.Core.StatusCode.Unauthenticated);
        thrown.Which.Status.Detail.Should().Be("missing authorization in header");
    }

    [Fact]
    public async Task No_outcome_message_contains_the_password_or_key()
    {
        var logins = new[]
        {
            Login(),
            Login(password: Password + "x"),
            Login(database: "nope"),
            Login() with { Tls = new TlsSettings(TlsMode.Required) },
            KeyLogin(ApiKey),
            KeyLogin(ApiKey + "x"),
        };

        foreach (var login in logins)
        {
            var outcome = await _connector.ValidateAsync(login, CancellationToken.None);
            outcome.Message.Should().NotContain(Password).And.NotContain(ApiKey);
            outcome.Message.Should().NotContain(MilvusAuth.ForUser(User, Password));
            login.ToString().Should().NotContain(Password).And.NotContain(ApiKey);
        }

        await _milvus.StopAsync();
        var down = await _connector.ValidateAsync(Login(), CancellationToken.None);
        down.Message.Should().NotContain(Password);
    }
}
