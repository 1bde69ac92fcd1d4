using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>
/// A server's text that holds the password, in whatever form, is left out whole: cut out in place, the gap would tell
/// what was cut wherever the password is also an ordinary word of the text. Counted, not printed: a failed assertion
/// must not show a password in the test output.
/// </summary>
public sealed class SecretRedactionTests
{
    private const string Password = @"it's-a\secret-pw";

    /// <summary>MySQL's own words for a refused login, as the driver passes them on.</summary>
    private const string AccessDenied = "Access denied for user 'root'@'10.0.0.7' (using password: YES)";

    private static readonly DatabaseLogin Login = new() { Host = "db", Port = 3306, LoginName = "app", Password = Password };

    [Theory]
    [InlineData(@"it''s-a\\secret-pw")] // MySqlConnector: quote and backslash doubled
    [InlineData(@"it\'s-a\\secret-pw")] // a backslash-escaped quote
    [InlineData(@"it''s-a\secret-pw")] // NO_BACKSLASH_ESCAPES: the backslash stays single
    public void A_password_quoted_back_as_a_SQL_string_literal_leaves_the_text_out(string quoted)
    {
        var message = SecretRedaction.Redact($"You have an error in your SQL syntax near 'IDENTIFIED BY '{quoted}'' at line 1", Login);

        message.Should().Be(SecretRedaction.LeftOut);
    }

    [Fact]
    public void The_new_password_of_a_managed_user_quoted_back_to_the_administrator_leaves_the_servers_text_out()
    {
        var admin = new DatabaseLogin { Host = "db", Port = 3306, LoginName = "dba", Password = "Adm1n-secret-pw" };

        var outcome = AdminFailure.From(
            ValidationOutcome.Failure(ValidationReasons.Unreachable, @"Lock wait timeout; statement: ALTER USER 'app'@'%' IDENTIFIED BY 'it''s-a\\secret-pw'"),
            admin,
            new ManagedUser { Name = "app", Password = Password });

        outcome.Message.Should().Be($"as administrator 'dba': {SecretRedaction.LeftOut}");
    }

    /// <summary>
    /// <c>password</c>, cut from MySQL's <c>(using password: YES)</c> and from the advice to check the password, read
    /// <c>(using ***: YES)</c>: the gap spelled the password out.
    /// </summary>
    [Fact]
    public void A_password_that_is_an_ordinary_word_of_the_message_is_not_told_by_a_gap_where_it_was_cut()
    {
        var login = Login with { LoginName = "root", Password = "password" };

        var outcome = MySqlErrors.ToOutcome(new InvalidOperationException(AccessDenied), login, DatabaseEngine.MySQL, timedOut: false);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        CountOf("***", outcome.Message).Should().Be(0, "a gap in the server's or our own words would tell which word the password is");
    }

    /// <summary>A one- or two-letter password cut from every word it occurs in spelled itself out just the same.</summary>
    [Theory]
    [InlineData("s")]
    [InlineData("ss")]
    [InlineData("YES")]
    public void A_short_password_in_the_servers_text_leaves_the_text_out_instead_of_cutting_it_from_every_word(string password)
    {
        var login = Login with { Password = password };

        var text = SecretRedaction.Redact(AccessDenied, login);

        text.Should().Be(SecretRedaction.LeftOut);
    }

    /// <summary>
    /// root with the password root (a common first setup): the user name is no quotation of the password, and cutting it
    /// from the name (<c>user '***'@</c>) told that the password is the user name.
    /// </summary>
    [Theory]
    [InlineData("root")]
    [InlineData("root-and-more")]
    public void A_password_that_is_the_user_name_is_not_told_by_cutting_it_from_the_name(string name)
    {
        var server = AccessDenied.Replace("'root'", $"'{name}'", StringComparison.Ordinal);
        var same = Login with { LoginName = name, Password = name };
        var other = Login with { LoginName = name, Password = "Zq8-another-password" };

        var told = MySqlErrors.ToOutcome(new InvalidOperationException(server), same, DatabaseEngine.MySQL, timedOut: false).Message;
        var unrelated = MySqlErrors.ToOutcome(new InvalidOperationException(server), other, DatabaseEngine.MySQL, timedOut: false).Message;

        (told == unrelated).Should().BeTrue("the message must read the same whatever the password is");
    }

    private static int CountOf(string part, string text) =>
        text.Split(part, StringSplitOptions.None).Length - 1;
}
