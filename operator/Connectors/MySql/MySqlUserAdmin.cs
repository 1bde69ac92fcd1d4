using MySqlConnector;

namespace Passbox.Operator.Connectors.MySql;

/// <summary>
/// Manages a user on MySQL, MariaDB or an OceanBase MySQL-mode tenant with an administrator's login:
/// <c>CREATE USER</c> (<c>IF NOT EXISTS</c> only when an existing user may be taken over), <c>GRANT … ON db.*</c> (with <c>_</c> escaped on MySQL and MariaDB, where it is a wildcard), <c>ALTER USER … IDENTIFIED BY</c> (after the grants when the password is new), <c>DROP USER IF EXISTS</c>,
/// always for the account <c>'user'@'%'</c>. The password is a command parameter: MySqlConnector escapes it into the
/// statement on the client (no server-side prepare, which MySQL refuses for these statements), so it works on every
/// server and never passes through string concatenation here. Names are checked by <see cref="MySqlIdentifiers"/>.
/// </summary>
public sealed class MySqlUserAdmin(DatabaseEngine engine) : IDatabaseUserAdmin
{
    public DatabaseEngine Engine => engine;

    public async Task<UserAdminOutcome> EnsureUserAsync(DatabaseLogin admin, ManagedUser user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(user);
        if (Refuse(user.Name) is { } refused)
        {
            return refused;
        }

        string account;
        List<string> grants;
        List<(string Database, string Privileges)> wildcardForms;
        try
        {
            account = MySqlIdentifiers.Account(user.Name);
            grants = user.Grants
                .Select(g => $"GRANT {MySqlIdentifiers.PrivilegeList(g.Privileges)} ON {MySqlIdentifiers.GrantDatabase(g.Database, EscapesGrantWildcards)}.* TO {account}")
                .ToList();

            // A Passbox before the escaping wrote these grants with the bare name, which the server reads as a pattern.
            wildcardForms = EscapesGrantWildcards
                ? user.Grants.Where(g => g.Database.Contains('_', StringComparison.Ordinal))
                    .Select(g => (MySqlIdentifiers.Database(g.Database), MySqlIdentifiers.PrivilegeList(g.Privileges))).ToList()
                : [];
        }
        catch (ArgumentException e)
        {
            return UserAdminOutcome.Failure(ValidationReasons.InvalidSpec, $"provisioning.grants: {e.Message}");
        }

        // A plain CREATE USER that went through made the user Passbox's even when a later statement fails: the failure
        // says so (UserAdminOutcome.Created), so the credential can drop it. An IF NOT EXISTS proves no creation.
        var madeHere = false;
        var outcome = await RunAsync(admin, user, async (session, token) =>
        {
            var created = true;
            if (user.MayAdopt)
            {
                await session.ExecuteAsync($"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY @password", user.Password, token);
                // The warning count only words the outcome: with sql_notes off (or a server that does not note an existing
                // user) it reads "created" for an existing user too, so the password is set whenever a reset is asked for.
                created = await WarningCountAsync(session, token) == 0;
            }
            else if (!await TryCreateAsync(session, account, user.Password, token))
            {
                // Someone else's user: not one statement more, its password and privileges stay as they are.
                return UserAdminOutcome.Failure(ValidationReasons.UserExists, $"user '{user.Name}' already exists on {admin.Endpoint}");
            }
            else
            {
                madeHere = true;
            }

            // A plain CREATE USER that succeeded has just set the password. Otherwise the reset comes first only when it
            // cannot break the published Secret (see ManagedUser.PasswordPublished), and last when it replaces its password.
            var reset = user.MayAdopt && user.ResetPassword;
            if (reset && user.PasswordPublished)
            {
                await SetPasswordAsync(session, account, user.Password, token);
            }

            foreach (var grant in grants)
            {
                await session.ExecuteAsync(grant, null, token);
            }

            // The exact grants are in place first, so revoking a wildcard form takes nothing the user still needs. Run
            // for a user that reads as created too: the warning count that says so is no proof (see above).
            var replaced = 0;
            foreach (var (database, privileges) in wildcardForms)
            {
                replaced += await RevokeWildcardFormAsync(session, account, database, privileges, token) ? 1 : 0;
            }

            if (reset && !user.PasswordPublished)
            {
                await SetPasswordAsync(session, account, user.Password, token);
            }

            var what = created ? "created" : reset ? "password set" : "up to date";
            return new UserAdminOutcome(true, ValidationReasons.Validated,
                $"user '{user.Name}' {what}{(grants.Count > 0 ? $", {grants.Count} grant(s) applied" : string.Empty)}" +
                (replaced > 0 ? $", {replaced} wildcard grant(s) of an older Passbox revoked" : string.Empty), created, created || reset);
        }, ct);
        return madeHere && !outcome.Succeeded ? outcome with { Created = true } : outcome;
    }

    public async Task<UserAdminOutcome> DropUserAsync(DatabaseLogin admin, string userName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (Refuse(userName) is { } refused)
        {
            return refused;
        }

        var account = MySqlIdentifiers.Account(userName);
        return await RunAsync(admin, null, async (session, token) =>
        {
            await session.ExecuteAsync($"DROP USER IF EXISTS {account}", null, token);
            return new UserAdminOutcome(true, ValidationReasons.Validated, $"user '{userName}' dropped");
        }, ct);
    }

    /// <summary>MySQL and MariaDB read _ in a database-level grant as a wildcard; OceanBase takes the name as written.</summary>
    private bool EscapesGrantWildcards => engine == DatabaseEngine.MySQL;

    /// <summary>
    /// Revokes the grant an older Passbox made with the bare name (<c>`app_1`.*</c>, a pattern that also covers
    /// <c>appX1</c>), now that the escaped one (<c>`app\_1`.*</c>) is in place. The two are separate grants on the server,
    /// so this touches only the pattern. ALL PRIVILEGES takes whatever it held; an administrator that may not revoke
    /// everything revokes the privileges the spec lists. False when there was no such grant (ER_NONEXISTING_GRANT),
    /// which keeps a second reconcile a no-op.
    /// </summary>
    private static async Task<bool> RevokeWildcardFormAsync(MySqlSession session, string account, string database, string privileges, CancellationToken ct)
    {
        try
        {
            await session.ExecuteAsync($"REVOKE ALL PRIVILEGES ON {database}.* FROM {account}", null, ct);
            return true;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.NonExistingGrant)
        {
            return false;
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.DatabaseAccessDenied or MySqlErrorCode.SpecifiedAccessDeniedError
            or MySqlErrorCode.TableAccessDenied or MySqlErrorCode.AccessDenied)
        {
            try
            {
                await session.ExecuteAsync($"REVOKE {privileges} ON {database}.* FROM {account}", null, ct);
                return true;
            }
            catch (MySqlException again) when (again.ErrorCode == MySqlErrorCode.NonExistingGrant)
            {
                return false;
            }
        }
    }

    private static UserAdminOutcome? Refuse(string userName) => UserAdminOutcome.RefuseUserName(userName, "a user name Passbox manages");

    /// <summary>One administrator session; its failures say they were the administrator's and never quote a password.</summary>
    private Task<UserAdminOutcome> RunAsync(DatabaseLogin admin, ManagedUser? user,
        Func<MySqlSession, CancellationToken, Task<UserAdminOutcome>> work, CancellationToken ct) =>
        MySqlProtocol.WithSessionAsync(admin, engine, work, failure => AdminFailure.From(failure, admin, user), ct);

    private static Task<int> SetPasswordAsync(MySqlSession session, string account, string password, CancellationToken ct) =>
        session.ExecuteAsync($"ALTER USER {account} IDENTIFIED BY @password", password, ct);

    /// <summary>
    /// Plain <c>CREATE USER</c>: false when the account exists (ER_CANNOT_USER, 1396), which changes nothing on the
    /// server. Unlike a look-up first, this leaves no gap for the user to appear between the look and the create.
    /// </summary>
    private static async Task<bool> TryCreateAsync(MySqlSession session, string account, string password, CancellationToken ct)
    {
        try
        {
            await session.ExecuteAsync($"CREATE USER {account} IDENTIFIED BY @password", password, ct);
            return true;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.CannotUser)
        {
            return false;
        }
    }

    /// <summary><c>CREATE USER IF NOT EXISTS</c> for an existing user succeeds with a warning (note 1973 / 3163).</summary>
    private static async Task<long> WarningCountAsync(MySqlSession session, CancellationToken ct)
    {
        return Convert.ToInt64(await session.ScalarAsync("SELECT @@warning_count", ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
