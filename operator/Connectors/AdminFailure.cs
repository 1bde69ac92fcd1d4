namespace Passbox.Operator.Connectors;

/// <summary>
/// Turns the failure of an administrator's session into a user-management outcome: a refused administrator login
/// means the admin credential is not usable (AdminNotReady); everything else keeps its reason. The user's new
/// password is cut from the message too, since a server may quote the statement it choked on.
/// </summary>
internal static class AdminFailure
{
    public static UserAdminOutcome From(ValidationOutcome failure, DatabaseLogin admin, ManagedUser? user)
    {
        var reason = failure.Reason == ValidationReasons.AuthenticationFailed ? ValidationReasons.AdminNotReady : failure.Reason;
        var message = $"as administrator '{Who(admin)}': {failure.Message}";
        if (user is not null)
        {
            var asLogin = new DatabaseLogin { Host = admin.Host, Port = admin.Port, LoginName = user.Name, Password = user.Password };
            message = SecretRedaction.Redact(message, asLogin);
            message = SecretRedaction.Redact(message, asLogin with { Password = user.CurrentPassword });
        }

        return UserAdminOutcome.Failure(reason, SecretRedaction.Redact(message, admin));
    }

    private static string Who(DatabaseLogin admin) => string.IsNullOrEmpty(admin.ApiKey) ? admin.LoginName : "API key";
}
