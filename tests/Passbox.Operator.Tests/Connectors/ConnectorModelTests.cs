using Passbox.Operator.Connectors;

namespace Passbox.Operator.Tests.Connectors;

public sealed class ConnectorModelTests
{
    [Theory]
    [InlineData("app_rw", "orders", "obcluster", "app_rw@orders#obcluster")]
    [InlineData("app_rw", "orders", null, "app_rw@orders")]
    [InlineData("app_rw", "orders", "", "app_rw@orders")]
    public void OceanBase_logins_are_formatted_for_OBProxy_or_direct(string user, string tenant, string? cluster, string expected) =>
        OceanBaseLogin.Format(user, tenant, cluster).Should().Be(expected);

    [Fact]
    public void An_OceanBase_login_needs_a_user_and_a_tenant()
    {
        var noTenant = () => OceanBaseLogin.Format("app", "", "c");
        var noUser = () => OceanBaseLogin.Format("", "t", "c");

        noTenant.Should().Throw<ArgumentException>();
        noUser.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("app@orders#obcluster", "orders")]
    [InlineData("app@orders", "orders")]
    [InlineData("obcluster:orders:app", "orders")]
    [InlineData("app", null)]
    [InlineData("app@", null)]
    public void The_tenant_is_read_back_from_a_login(string login, string? tenant) =>
        OceanBaseLogin.TenantOf(login).Should().Be(tenant);

    [Fact]
    public void The_reasons_are_exactly_the_agreed_set()
    {
        var names = typeof(ValidationReasons).GetFields().Select(f => (string)f.GetValue(null)!).ToList();

        names.Should().BeEquivalentTo(
            "Validated", "AuthenticationFailed", "Unreachable", "Timeout", "TLSFailed", "TenantNotFound",
            "DatabaseNotFound", "Unsupported", "PermissionDenied", "SourceSecretMissing", "InvalidKubeconfig",
            "AdminNotReady", "AdminAuthenticationFailed", "ProtectedUser", "UserExists", "InvalidSpec", "ServerError");
        typeof(ValidationReasons).GetFields().Should().OnlyContain(f => f.Name == (string)f.GetValue(null)!);
    }

    [Fact]
    public void Outcomes_are_built_by_their_factories()
    {
        var ok = ValidationOutcome.Success("Logged in", "8.0.36");
        var failed = ValidationOutcome.Failure(ValidationReasons.Timeout, "too slow");
        var wrong = () => ValidationOutcome.Failure(ValidationReasons.Validated, "not a failure");

        ok.Should().Be(new ValidationOutcome(true, ValidationReasons.Validated, "Logged in", "8.0.36"));
        failed.Should().Be(new ValidationOutcome(false, ValidationReasons.Timeout, "too slow", null));
        wrong.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void A_login_never_prints_its_password_or_key()
    {
        var login = new DatabaseLogin
        {
            Host = "obproxy.oceanbase.svc",
            Port = 2883,
            LoginName = "app_rw@orders#obcluster",
            Password = "Sup3r;Secret=\"pw",
            ApiKey = "zilliz-api-key-123",
            Database = "orders",
            Tls = new TlsSettings(TlsMode.VerifyFull, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
        };

        var text = login.ToString();

        text.Should().NotContain("Sup3r").And.NotContain("zilliz-api-key").And.NotContain("MIIB");
        text.Should().Contain("app_rw@orders#obcluster").And.Contain("obproxy.oceanbase.svc:2883").And.Contain("VerifyFull");
        $"{login}".Should().Be(text);
    }

    [Theory]
    [InlineData("db.example", 3306, "db.example:3306")]
    [InlineData("::1", 19530, "[::1]:19530")]
    [InlineData("[::1]", 19530, "[::1]:19530")]
    public void The_endpoint_brackets_IPv6_addresses(string host, int port, string expected) =>
        new DatabaseLogin { Host = host, Port = port, LoginName = "u" }.Endpoint.Should().Be(expected);

    [Fact]
    public void The_registry_picks_the_connector_for_each_engine()
    {
        var connectors = DatabaseConnectors.CreateDefault();

        foreach (var engine in Enum.GetValues<DatabaseEngine>())
        {
            connectors.For(engine).Engine.Should().Be(engine);
        }
    }

    [Fact]
    public async Task A_non_positive_timeout_is_a_caller_bug()
    {
        var login = new DatabaseLogin { Host = "127.0.0.1", Port = 1, LoginName = "u", Timeout = TimeSpan.Zero };

        foreach (var connector in Enum.GetValues<DatabaseEngine>().Select(DatabaseConnectors.CreateDefault().For))
        {
            var act = () => connector.ValidateAsync(login, CancellationToken.None);
            await act.Should().ThrowAsync<ArgumentOutOfRangeException>();
        }
    }
}
