namespace Passbox.Operator.Connectors;

/// <summary>
/// Turns the failure of an administrator's session into a user-management outcome, keeping its reason: a refused
/// administrator login stays AuthenticationFailed (the message says it was the administrator's), so it is retried only
/// at the validation interval like any refused login — a fast retry could trip the server's lockout of that account.
/// The user's new password is cut from the message too, since a server may quote the statement it choked on.
/// </summary>
internal static class AdminFailure
{
    public static UserAdminOutcome From(ValidationOutcome failure, DatabaseLogin admin, ManagedUser? user)
    {
        var message = $"as administrator '{Who(admin)}': {failure.Message}";
        if (user is not null)
        {
            var asLogin = new DatabaseLogin { Host = admin.Host, Port = admin.Port, LoginName = user.Name, Password = user.Password };
            message = SecretRedaction.Redact(message, asLogin);
            message = SecretRedaction.Redact(message, asLogin with { Password = user.CurrentPassword });
        }

        return UserAdminOutcome.Failure(failure.Reason, SecretRedaction.Redact(message, admin));
    }

    private static string Who(DatabaseLogin admin) => string.IsNullOrEmpty(admin.ApiKey) ? admin.LoginName : "API key";
}
