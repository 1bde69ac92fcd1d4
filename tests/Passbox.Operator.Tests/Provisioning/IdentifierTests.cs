using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;
using Passbox.Operator.Provisioning;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class IdentifierTests
{
    [Theory]
    [InlineData("app_rw")]
    [InlineData("A")]
    [InlineData("orders_2026_reader")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")]
    public void Plain_user_names_are_valid(string name) => UserNames.IsValid(name).Should().BeTrue();

    [Theory]
    [InlineData("")]
    [InlineData("_app")]
    [InlineData("1app")]
    [InlineData("app-rw")]
    [InlineData("app rw")]
    [InlineData("app'--")]
    [InlineData("app@orders")]
    [InlineData("app\n")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("ünïcode")]
    public void Anything_else_is_not_a_user_name(string name)
    {
        UserNames.IsValid(name).Should().BeFalse();
        var act = () => MySqlIdentifiers.Account(name);
        act.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("mysql")]
    [InlineData("MySQL")]
    [InlineData("performance_schema")]
    [InlineData("sys")]
    [InlineData("oceanbase")]
    public void Grants_on_system_schemas_are_refused(string database) =>
        FluentActions.Invoking(() => MySqlIdentifiers.Database(database))
            .Should().Throw<ArgumentException>().WithMessage("*system schema*");

    [Theory]
    [InlineData("my_ql")]
    [InlineData("_ysql")]
    [InlineData("s_s")]
    [InlineData("SY_")]
    [InlineData("information_schem_")]
    [InlineData("oc_anbase")]
    public void Names_that_read_as_a_pattern_matching_a_system_schema_are_refused(string database) =>
        FluentActions.Invoking(() => MySqlIdentifiers.GrantDatabase(database, escapeWildcards: true))
            .Should().Throw<ArgumentException>().WithMessage("*matches the system schema*");

    [Theory]
    [InlineData("orders_db", true, @"`orders\_db`")]
    [InlineData("a_b_c", true, @"`a\_b\_c`")]
    [InlineData("orders", true, "`orders`")]
    [InlineData("orders_db", false, "`orders_db`")]
    public void A_database_level_grant_escapes_the_underscore_wildcard_where_the_server_reads_one(string database, bool escape, string expected) =>
        MySqlIdentifiers.GrantDatabase(database, escape).Should().Be(expected);

    [Fact]
    public void A_grant_on_an_application_database_is_quoted() =>
        MySqlIdentifiers.Database("orders_db").Should().Be("`orders_db`");

    [Fact]
    public void An_account_is_the_quoted_name_from_any_host() =>
        MySqlIdentifiers.Account("app_rw").Should().Be("'app_rw'@'%'");

    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's", "'it''s'")]
    [InlineData(@"back\slash", @"'back\\slash'")]
    [InlineData(@"\'", @"'\\'''")]
    [InlineData("", "''")]
    public void String_literals_double_quotes_and_backslashes(string value, string quoted) =>
        MySqlIdentifiers.QuoteString(value).Should().Be(quoted);

    [Theory]
    [InlineData("orders", "`orders`")]
    [InlineData("a`b", "`a``b`")]
    public void Identifiers_double_back_quotes(string value, string quoted) =>
        MySqlIdentifiers.QuoteIdentifier(value).Should().Be(quoted);

    [Theory]
    [InlineData("orders_db")]
    [InlineData("2026")]
    public void Database_names_of_letters_digits_and_underscores_are_accepted(string database) =>
        MySqlIdentifiers.Database(database).Should().Be($"`{database}`");

    [Theory]
    [InlineData("*")]
    [InlineData("orders.*")]
    [InlineData("a`b")]
    [InlineData("")]
    [InlineData("orders\n")]
    public void Wildcards_and_odd_database_names_are_refused(string database)
    {
        var act = () => MySqlIdentifiers.Database(database);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Only_known_privileges_are_granted()
    {
        MySqlIdentifiers.PrivilegeList(["SELECT", "CREATE VIEW", "SELECT"]).Should().Be("SELECT, CREATE VIEW");
        var act = () => MySqlIdentifiers.PrivilegeList(["SELECT", "SUPER"]);
        act.Should().Throw<ArgumentException>().WithMessage("*SUPER*");
        var injected = () => MySqlIdentifiers.PrivilegeList(["SELECT ON *.* TO x; --"]);
        injected.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Every_privilege_of_the_schema_is_one_the_admin_grants()
    {
        foreach (var privilege in Enum.GetValues<SqlPrivilege>())
        {
            MySqlIdentifiers.Privileges.Should().Contain(UserProvisioner.Keyword(privilege));
        }

        UserProvisioner.Keyword(SqlPrivilege.AllPrivileges).Should().Be("ALL PRIVILEGES");
    }

    [Fact]
    public void The_protected_users_are_the_administrators_compared_without_case()
    {
        // The schema's rule splits the same text (SchemaValidationTests sends each name to the API server).
        ProtectedUserNames.All.Should().Equal("root", "db_admin", "proxyro", "sys", "ocp_monitor");
        ProtectedUsers.CelList.Should().Be("'root, db_admin, proxyro, sys, ocp_monitor'.split(', ')");
        ProtectedUserNames.Contains("ROOT").Should().BeTrue();
        ProtectedUserNames.Contains("db_admin").Should().BeTrue();
        ProtectedUserNames.Contains("app_rw").Should().BeFalse();
    }

    [Fact]
    public void The_schema_pattern_is_the_operators()
    {
        typeof(ClusterCredentialSpec).GetCustomAttributes(typeof(Passbox.Operator.Api.Schema.CelRuleAttribute), false)
            .Cast<Passbox.Operator.Api.Schema.CelRuleAttribute>()
            .Should().Contain(r => r.Rule.Contains(UserNames.Pattern, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sys", true)]
    [InlineData("SYS", true)]
    [InlineData("Sys", true)]
    [InlineData("orders", false)]
    [InlineData("sys_archive", false)]
    [InlineData(null, false)]
    public void Every_user_of_the_OceanBase_sys_tenant_is_protected(string? tenant, bool isSys)
    {
        ProtectedUserNames.IsSysTenant(tenant).Should().Be(isSys);
    }

    [Fact]
    public void A_managed_user_never_prints_its_passwords()
    {
        var user = new ManagedUser { Name = "app", Password = "s3cret-Value!", CurrentPassword = "0ld-s3cret-Value!" };

        user.ToString().Should().NotContain("s3cret-Value!").And.NotContain("0ld-s3cret");
    }
}
