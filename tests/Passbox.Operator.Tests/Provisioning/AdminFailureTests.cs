using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Provisioning;

/// <summary>What a user sees when the administrator's own session fails while Passbox manages a user.</summary>
public sealed class AdminFailureTests
{
    private static readonly DatabaseLogin Admin = new() { Host = "db", Port = 3306, LoginName = "dba", Password = "Adm1n-secret-pw" };

    [Fact]
    public void A_refused_administrator_login_is_told_apart_from_the_users_own_and_retried_only_at_the_interval()
    {
        var outcome = AdminFailure.From(
            ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "Access denied for user 'dba' (using password: Adm1n-secret-pw)"),
            Admin,
            new ManagedUser { Name = "app", Password = "N3w-user-pw" });

        // The user's own refused login waits for nothing of the admin's; this one ends when the admin's password is fixed.
        outcome.Reason.Should().Be(ValidationReasons.AdminAuthenticationFailed);
        outcome.Message.Should().StartWith("as administrator 'dba':").And.NotContain("Adm1n-secret-pw");
        ValidationPlanner.IsTransient(outcome.Reason).Should().BeFalse("a fast retry of a refused login could lock the administrator out");
    }

    [Theory]
    [InlineData(ValidationReasons.PermissionDenied)]
    [InlineData(ValidationReasons.Unreachable)]
    [InlineData(ValidationReasons.TLSFailed)]
    public void Every_other_failure_of_the_administrators_session_keeps_its_reason(string reason)
    {
        AdminFailure.From(ValidationOutcome.Failure(reason, "no"), Admin, user: null).Reason.Should().Be(reason);
    }

    [Fact]
    public void A_user_that_already_exists_is_retried_only_at_the_interval()
    {
        // Nothing changes on the server until someone adopts or renames the user: a fast retry would only hammer it.
        ValidationPlanner.IsTransient(ValidationReasons.UserExists).Should().BeFalse();
    }
}
