namespace Passbox.Operator.Connectors;

/// <summary>
/// Turns the failure of an administrator's session into a user-management outcome. A refused administrator login is
/// AdminAuthenticationFailed: retried only at the validation interval like any refused login (a fast retry could trip
/// the server's lockout of that account), but told apart from the user's own refusal, so the credential is checked
/// again as soon as its admin credential validates with a fixed password (see <c>AdminReferences.WaitOverSince</c>).
/// Every other failure keeps its reason. The user's new password is cut from the message too, since a server may quote
/// the statement it choked on.
/// </summary>
internal static class AdminFailure
{
    public static UserAdminOutcome From(ValidationOutcome failure, DatabaseLogin admin, ManagedUser? user)
    {
        var detail = failure.Message;
        if (user is not null)
        {
            var asLogin = new DatabaseLogin { Host = admin.Host, Port = admin.Port, LoginName = user.Name, Password = user.Password };
            detail = SecretRedaction.Redact(detail, asLogin);
            detail = SecretRedaction.Redact(detail, asLogin with { Password = user.CurrentPassword });
        }

        var reason = failure.Reason == ValidationReasons.AuthenticationFailed ? ValidationReasons.AdminAuthenticationFailed : failure.Reason;
        return UserAdminOutcome.Failure(reason, $"as administrator '{Who(admin)}': {SecretRedaction.Redact(detail, admin)}");
    }

    private static string Who(DatabaseLogin admin) => string.IsNullOrEmpty(admin.ApiKey) ? admin.LoginName : "API key";
}
