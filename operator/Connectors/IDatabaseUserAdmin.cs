namespace Passbox.Operator.Connectors;

/// <summary>
/// Manages one user on a database server with an administrator's login: creates it, sets its password, grants its
/// privileges or roles, and drops it. One connection per call, closed before the call returns. Failures come back
/// as outcomes whose messages hold neither the administrator's nor the user's password.
/// </summary>
public interface IDatabaseUserAdmin
{
    DatabaseEngine Engine { get; }

    /// <summary>Creates the user when missing (an existing one only when <see cref="ManagedUser.MayAdopt"/>), sets the password when asked to, and applies grants or roles.</summary>
    Task<UserAdminOutcome> EnsureUserAsync(DatabaseLogin admin, ManagedUser user, CancellationToken ct);

    /// <summary>Drops the user; a user that does not exist is success.</summary>
    Task<UserAdminOutcome> DropUserAsync(DatabaseLogin admin, string userName, CancellationToken ct);
}

/// <summary>The user as it should be. <see cref="ToString"/> leaves the password out.</summary>
public sealed record ManagedUser
{
    /// <summary>The bare user name (no <c>@tenant</c>): for OceanBase the administrator is already in the tenant.</summary>
    public required string Name { get; init; }

    public required string Password { get; init; }

    /// <summary>
    /// An existing user may be taken over (Passbox manages it already, the spec adopts it, or the desired password
    /// logs in as it). When false, an existing user is left untouched and the outcome is <see cref="ValidationReasons.UserExists"/>.
    /// </summary>
    public bool MayAdopt { get; init; }

    /// <summary>Set the password even when the user exists (the desired password changed, or the login was refused).</summary>
    public bool ResetPassword { get; init; }

    /// <summary>
    /// <see cref="Password"/> is the one consumers already read from the published Secret (only the server may have lost
    /// it): a reset is then made first, and repairs their login whatever fails after it. A new password is set last,
    /// once every grant or role went through, so a step that fails leaves the server with the password the published
    /// Secret still holds, and its consumers logged in, until the next attempt publishes the new one.
    /// </summary>
    public bool PasswordPublished { get; init; }

    /// <summary>
    /// The password the user has now, as far as Passbox knows (the one it last published); Milvus checks it on a reset
    /// by an administrator that is not a configured superuser. Null when unknown.
    /// </summary>
    public string? CurrentPassword { get; init; }

    /// <summary>MySQL and OceanBase: privileges per database.</summary>
    public IReadOnlyList<SqlGrant> Grants { get; init; } = [];

    /// <summary>Milvus: the user's roles, exactly; null leaves the roles alone.</summary>
    public IReadOnlyList<string>? Roles { get; init; }

    public override string ToString() => $"user '{Name}' (password: ***, reset: {ResetPassword}, may adopt: {MayAdopt})";
}

/// <summary>Privileges on all tables of one database, as SQL keywords such as <c>SELECT</c> or <c>CREATE VIEW</c>.</summary>
public sealed record SqlGrant(string Database, IReadOnlyList<string> Privileges);

/// <summary>
/// What a user change did, or why it failed (reason from <see cref="ValidationReasons"/>). <see cref="Created"/> is true
/// for a failure too when the user was created before the step that failed: it exists now, and it is Passbox's.
/// </summary>
public sealed record UserAdminOutcome(bool Succeeded, string Reason, string Message, bool Created = false, bool PasswordSet = false)
{
    public static UserAdminOutcome Failure(string reason, string message) => new(false, reason, message);

    /// <summary>
    /// Why <paramref name="userName"/> is not one an admin class may touch: a protected administrator, or a name outside
    /// <see cref="UserNames"/> (<paramref name="nameKind"/> says what it is not, e.g. "a Milvus user name"). Null when it may.
    /// Checked before the administrator logs in, so a refused name changes nothing on the server.
    /// </summary>
    public static UserAdminOutcome? RefuseUserName(string userName, string nameKind)
    {
        if (ProtectedUserNames.Contains(userName))
        {
            return Failure(ValidationReasons.ProtectedUser, $"'{userName}' is an administrator Passbox never creates, resets or drops");
        }

        return UserNames.IsValid(userName)
            ? null
            : Failure(ValidationReasons.InvalidSpec, $"'{userName}' is not {nameKind}: a letter, then letters, digits or _, at most 32");
    }
}
