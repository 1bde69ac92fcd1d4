namespace Passbox.Operator.Connectors;

/// <summary>
/// Reasons a validation ends with. They become the <c>reason</c> of the <c>Validated</c> condition,
/// so they are PascalCase and stable: dashboards and alerts match on them.
/// </summary>
public static class ValidationReasons
{
    /// <summary>The login worked.</summary>
    public const string Validated = nameof(Validated);

    /// <summary>The server rejected the user name, password, token or API key.</summary>
    public const string AuthenticationFailed = nameof(AuthenticationFailed);

    /// <summary>Nothing answered at the address (refused, no route, DNS failure, service not ready).</summary>
    public const string Unreachable = nameof(Unreachable);

    /// <summary>The server did not answer within the validation timeout.</summary>
    public const string Timeout = nameof(Timeout);

    /// <summary>TLS could not be set up as requested (no TLS on the server, untrusted certificate, wrong host name).</summary>
    public const string TLSFailed = nameof(TLSFailed);

    /// <summary>The OceanBase tenant named in the login does not exist.</summary>
    public const string TenantNotFound = nameof(TenantNotFound);

    /// <summary>The database named in the credential does not exist.</summary>
    public const string DatabaseNotFound = nameof(DatabaseNotFound);

    /// <summary>The server needs something this operator does not speak (Oracle-mode tenant, auth plugin).</summary>
    public const string Unsupported = nameof(Unsupported);

    /// <summary>The login worked but the account may not do what the check needs.</summary>
    public const string PermissionDenied = nameof(PermissionDenied);

    /// <summary>A Secret the credential points to (password, API key, CA) is missing or lacks the key.</summary>
    public const string SourceSecretMissing = nameof(SourceSecretMissing);

    /// <summary>A kubeconfig could not be parsed or names no usable context.</summary>
    public const string InvalidKubeconfig = nameof(InvalidKubeconfig);

    /// <summary>The administrator credential that manages the user is missing or not Ready.</summary>
    public const string AdminNotReady = nameof(AdminNotReady);

    /// <summary>
    /// The server refused the login of the administrator credential that manages the user (its password was changed on
    /// the server, say), not the user's own. Retried at the validation interval like any refused login, or as soon as
    /// the administrator credential validates again (a fixed password), which the user's own refusal never is.
    /// </summary>
    public const string AdminAuthenticationFailed = nameof(AdminAuthenticationFailed);

    /// <summary>The user is an administrator Passbox never creates, resets or drops.</summary>
    public const string ProtectedUser = nameof(ProtectedUser);

    /// <summary>
    /// The user to provision already exists on the server and is not Passbox's: it did not create it and the desired
    /// password does not log in as it. Nothing was changed; <c>provisioning.adoptExisting</c> lets Passbox take it over.
    /// </summary>
    public const string UserExists = nameof(UserExists);

    /// <summary>The spec asks for something the operator cannot do (a bad admin reference, a name too long).</summary>
    public const string InvalidSpec = nameof(InvalidSpec);

    /// <summary>
    /// The server answered with an error that has no more specific reason (not a network failure, not a passing state
    /// such as a shutdown or a deadlock). Asking again at once gets the same answer, so it waits the validation interval.
    /// </summary>
    public const string ServerError = nameof(ServerError);
}
