using System.Text;
using Grpc.Core;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;
using ProtoStatus = Passbox.Operator.Connectors.Milvus.Protocol.Status;

namespace Passbox.Operator.Tests.Connectors;

public sealed class MilvusUnitTests
{
    private static readonly DatabaseLogin UserLogin = new()
    {
        Host = "milvus.vector.svc",
        Port = 19530,
        LoginName = "app_user",
        Password = "S3cret:with:colons",
        Database = "vectors",
    };

    private static readonly DatabaseLogin KeyLogin = UserLogin with { LoginName = string.Empty, Password = null, ApiKey = "zilliz-key-abc" };

    [Fact]
    public void The_authorization_header_is_Base64_of_user_colon_password()
    {
        MilvusAuth.ForUser("root", "Milvus").Should().Be("cm9vdDpNaWx2dXM=");
        Encoding.UTF8.GetString(Convert.FromBase64String(MilvusAuth.For(UserLogin))).Should().Be("app_user:S3cret:with:colons");
    }

    [Fact]
    public void An_API_key_is_sent_as_Base64_of_the_bare_key()
    {
        MilvusAuth.For(KeyLogin).Should().Be(Convert.ToBase64String(Encoding.UTF8.GetBytes("zilliz-key-abc")));
        MilvusAuth.EncodePassword("pässword").Should().Be(Convert.ToBase64String(Encoding.UTF8.GetBytes("pässword")));
    }

    [Theory]
    [InlineData(0, 0, true)]
    [InlineData(1, 0, false)]
    [InlineData(0, 800, false)]
    [InlineData(1, 800, false)]
    [InlineData(0, 65535, false)]
    public void Success_needs_both_codes_at_zero(int errorCode, int code, bool success) =>
        MilvusStatus.IsSuccess(new ProtoStatus { ErrorCode = errorCode, Code = code }).Should().Be(success);

    [Fact]
    public void A_missing_status_is_success() => MilvusStatus.IsSuccess(null).Should().BeTrue();

    [Theory]
    [InlineData(StatusCode.Unauthenticated, "auth check failure, please check username and password are correct", ValidationReasons.AuthenticationFailed)]
    [InlineData(StatusCode.PermissionDenied, "PrivilegeConnect: permission deny", ValidationReasons.PermissionDenied)]
    [InlineData(StatusCode.Unavailable, "Error connecting to subchannel.", ValidationReasons.Unreachable)]
    [InlineData(StatusCode.DeadlineExceeded, "Deadline Exceeded", ValidationReasons.Timeout)]
    [InlineData(StatusCode.Unimplemented, "unknown service", ValidationReasons.Unsupported)]
    public void gRPC_errors_map_to_reasons(StatusCode code, string detail, string reason) =>
        MilvusErrors.ToOutcome(new RpcException(new Status(code, detail)), UserLogin, timedOut: false).Reason.Should().Be(reason);

    [Fact]
    public void Authentication_failures_say_whether_the_password_or_the_key_was_wrong()
    {
        var password = MilvusErrors.ToOutcome(
            new RpcException(new Status(StatusCode.Unauthenticated, "auth check failure, please check username and password are correct")), UserLogin, false);
        var key = MilvusErrors.ToOutcome(
            new RpcException(new Status(StatusCode.Unauthenticated, "auth check failure, please check api key is correct")), KeyLogin, false);
        var missing = MilvusErrors.ToOutcome(new RpcException(new Status(StatusCode.Unauthenticated, "missing authorization in header")), UserLogin, false);

        password.Message.Should().Contain("user 'app_user'").And.Contain("password");
        key.Message.Should().Contain("API key").And.NotContain("zilliz-key-abc");
        missing.Message.Should().Contain("no credentials");
    }

    [Fact]
    public void Status_codes_map_to_reasons()
    {
        var notFound = MilvusErrors.ToOutcome(new MilvusStatusException("Connect", 800, 1, "database not found[database=vectors]"), UserLogin, false);
        notFound.Reason.Should().Be(ValidationReasons.DatabaseNotFound);
        notFound.Message.Should().Contain("spec.milvus.database", "the message names the field to fix");
        MilvusErrors.ToOutcome(new MilvusStatusException("Connect", 1401, 1, "not permitted"), UserLogin, false)
            .Reason.Should().Be(ValidationReasons.PermissionDenied);
        MilvusErrors.ToOutcome(new MilvusStatusException("Connect", 0, 3, "permission denied"), UserLogin, false)
            .Reason.Should().Be(ValidationReasons.PermissionDenied);
        MilvusErrors.ToOutcome(new MilvusStatusException("Connect", 2, 1, "service unavailable"), UserLogin, false)
            .Reason.Should().Be(ValidationReasons.Unreachable);
    }

    [Fact]
    public void Our_own_timeout_is_a_Timeout()
    {
        MilvusErrors.ToOutcome(new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client.")), UserLogin, timedOut: true)
            .Reason.Should().Be(ValidationReasons.Timeout);
        MilvusErrors.ToOutcome(new OperationCanceledException(), UserLogin, timedOut: true)
            .Reason.Should().Be(ValidationReasons.Timeout);
    }

    [Fact]
    public void A_TLS_handshake_failure_is_TLSFailed()
    {
        var inner = new HttpRequestException("The SSL connection could not be established, see inner exception.", new System.Security.Authentication.AuthenticationException("The remote certificate is invalid."));

        MilvusErrors.ToOutcome(new RpcException(new Status(StatusCode.Unavailable, "Error starting gRPC call.", inner)), UserLogin, false)
            .Reason.Should().Be(ValidationReasons.TLSFailed);
    }

    [Fact]
    public void A_proxy_that_answers_Unavailable_is_Unreachable_without_blaming_the_TLS_mode_or_port()
    {
        // What a Milvus proxy that is not ready sends: a gRPC status of its own, with no client-side exception behind it.
        var outcome = MilvusErrors.ToOutcome(new RpcException(new Status(StatusCode.Unavailable, "proxy not healthy, StateCode=Initializing")), UserLogin with { Tls = TlsSettings.Disabled }, false);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Contain("milvus.vector.svc:19530").And.Contain("proxy not healthy, StateCode=Initializing").And.Contain("tries again")
            .And.NotContain("tls.mode").And.NotContain("did not answer gRPC");
    }

    [Fact]
    public void Secrets_in_server_text_are_cut_out()
    {
        var base64 = MilvusAuth.For(UserLogin);
        var outcome = MilvusErrors.ToOutcome(
            new RpcException(new Status(StatusCode.PermissionDenied, $"token {base64} / {UserLogin.Password} denied")), UserLogin, false);

        outcome.Message.Should().NotContain(UserLogin.Password).And.NotContain(base64);
    }

    [Theory]
    [InlineData("milvus.vector.svc:19530")]
    [InlineData("milvus.vector.svc]")]
    [InlineData("[fd00::1")]
    public async Task A_host_that_makes_no_address_is_InvalidSpec_saying_where_the_port_goes(string host)
    {
        var login = UserLogin with { Host = host, Tls = TlsSettings.Disabled };

        var check = await new MilvusConnector().ValidateAsync(login, CancellationToken.None);
        var drop = await new MilvusUserAdmin().DropUserAsync(login, "app_user", CancellationToken.None);

        check.Reason.Should().Be(ValidationReasons.InvalidSpec, "only an edit of the spec can mend it: no retry with backoff");
        check.Message.Should().Contain(host).And.Contain("spec.endpoint.port").And.NotContain(UserLogin.Password!);
        drop.Reason.Should().Be(ValidationReasons.InvalidSpec);
        drop.Message.Should().Contain("spec.endpoint.port");
    }

    [Theory]
    [InlineData("fd00::1")]
    [InlineData("[fd00::1]")]
    [InlineData("10.0.0.7")]
    public void IPv6_addresses_bare_or_in_brackets_and_IPv4_addresses_make_an_address(string host)
    {
        using var client = MilvusClient.Create(UserLogin with { Host = host, Tls = TlsSettings.Disabled });

        client.Should().NotBeNull();
    }

    [Fact]
    public void A_parameter_the_server_refuses_is_InvalidSpec_and_waits_for_a_fix()
    {
        var outcome = MilvusErrors.ToOutcome(
            new MilvusStatusException("CreateCredential", 1100, 5, "invalid parameter[expected=valid password][actual=invalid password length]"), UserLogin, false);
        var legacy = MilvusErrors.ToOutcome(new MilvusStatusException("CreateCredential", 0, 5, "invalid password length"), UserLogin, false);

        outcome.Reason.Should().Be(ValidationReasons.InvalidSpec);
        Passbox.Operator.Controllers.Shared.ValidationPlanner.IsTransient(outcome.Reason).Should().BeFalse("the same password is refused however often it is sent");
        outcome.Message.Should().Contain("CreateCredential").And.Contain("invalid password length").And.Contain("passwordPolicy.length")
            .And.NotContain(UserLogin.Password!);
        legacy.Reason.Should().Be(ValidationReasons.InvalidSpec);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("Admin")]
    [InlineData("ADMIN")]
    [InlineData("db_admin")]
    [InlineData("DB_Admin")]
    public async Task A_built_in_administrator_role_is_refused_before_the_administrator_logs_in(string role)
    {
        // Nothing listens at this address: a refusal that reached the server would be Unreachable, not InvalidSpec.
        var admin = UserLogin with { Host = "127.0.0.1", Port = 1, Tls = TlsSettings.Disabled, Timeout = TimeSpan.FromSeconds(1) };
        var user = new ManagedUser { Name = "app_user", Password = "N3w-password-value", Roles = ["public", role] };

        var outcome = await new MilvusUserAdmin().EnsureUserAsync(admin, user, CancellationToken.None);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(ValidationReasons.InvalidSpec);
        outcome.Message.Should().Contain("provisioning.roles").And.Contain($"'{role}'").And.Contain("administrator");
    }

    [Fact]
    public void The_privileged_roles_are_one_list_for_the_schema_and_the_operator()
    {
        Passbox.Operator.Api.V1Alpha1.PrivilegedMilvusRoles.All.Should().Equal("admin", "db_admin");
        Passbox.Operator.Api.V1Alpha1.PrivilegedMilvusRoles.Contains("public").Should().BeFalse();
        Passbox.Operator.Api.V1Alpha1.PrivilegedMilvusRoles.Contains("administrators").Should().BeFalse();
        typeof(Passbox.Operator.Api.V1Alpha1.MilvusRoleReference).GetProperty("Name")!
            .GetCustomAttributes(typeof(Passbox.Operator.Api.Schema.CelRuleAttribute), false)
            .Cast<Passbox.Operator.Api.Schema.CelRuleAttribute>()
            .Should().ContainSingle(r => r.Rule.Contains("lowerAscii()", StringComparison.Ordinal)
                && r.Rule.Contains(Passbox.Operator.Api.V1Alpha1.PrivilegedMilvusRoles.CelList, StringComparison.Ordinal));
    }
}
