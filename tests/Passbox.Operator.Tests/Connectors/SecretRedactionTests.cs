using Passbox.Operator.Connectors;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>A password a server quotes back inside a SQL statement is cut from the message in whatever escaping it has.</summary>
public sealed class SecretRedactionTests
{
    private const string Password = @"it's-a\secret-pw";

    private static readonly DatabaseLogin Login = new() { Host = "db", Port = 3306, LoginName = "app", Password = Password };

    [Theory]
    [InlineData(@"it''s-a\\secret-pw")] // MySqlConnector: quote and backslash doubled
    [InlineData(@"it\'s-a\\secret-pw")] // a backslash-escaped quote
    [InlineData(@"it''s-a\secret-pw")] // NO_BACKSLASH_ESCAPES: the backslash stays single
    public void A_password_quoted_back_as_a_SQL_string_literal_is_cut_out(string quoted)
    {
        var message = SecretRedaction.Redact($"You have an error in your SQL syntax near 'IDENTIFIED BY '{quoted}'' at line 1", Login);

        message.Should().NotContain("secret-pw").And.NotContain("it'").And.Contain("IDENTIFIED BY '***'");
    }

    [Fact]
    public void The_new_password_of_a_managed_user_quoted_back_to_the_administrator_is_cut_out()
    {
        var admin = new DatabaseLogin { Host = "db", Port = 3306, LoginName = "dba", Password = "Adm1n-secret-pw" };

        var outcome = AdminFailure.From(
            ValidationOutcome.Failure(ValidationReasons.Unreachable, @"Lock wait timeout; statement: ALTER USER 'app'@'%' IDENTIFIED BY 'it''s-a\\secret-pw'"),
            admin,
            new ManagedUser { Name = "app", Password = Password });

        outcome.Message.Should().NotContain("secret-pw").And.Contain("IDENTIFIED BY '***'");
    }
}
