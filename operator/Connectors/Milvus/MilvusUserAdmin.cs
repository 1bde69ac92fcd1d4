using Grpc.Core;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>
/// Manages a Milvus / Zilliz Cloud user with an administrator's login: <c>CreateCredential</c> when missing (an
/// existing user is touched only when it may be taken over),
/// <c>UpdateCredential</c> to reset the password (with the last published password as the old one, which a superuser's reset does not need), <c>OperateUserRole</c>
/// to make the roles exactly the listed ones, and <c>DeleteCredential</c>. The server refuses to drop root (1401);
/// Passbox refuses every <see cref="ProtectedUserNames">protected user</see> before asking.
/// </summary>
public sealed class MilvusUserAdmin : IDatabaseUserAdmin
{
    public DatabaseEngine Engine => DatabaseEngine.Milvus;

    public async Task<UserAdminOutcome> EnsureUserAsync(DatabaseLogin admin, ManagedUser user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(user);
        if ((Refuse(user.Name) ?? RefuseRoles(user.Roles)) is { } refused)
        {
            return refused;
        }

        // A user created here is Passbox's even when a later call fails: the failure says so (UserAdminOutcome.Created),
        // so the credential can drop it.
        var madeHere = false;
        var outcome = await RunAsync(admin, user, async (client, token) =>
        {
            var exists = (await client.ListCredUsersAsync(token)).Contains(user.Name, StringComparer.Ordinal);
            if (exists && !user.MayAdopt)
            {
                // Someone else's user: neither its password nor its roles are touched.
                return UserAdminOutcome.Failure(ValidationReasons.UserExists, $"user '{user.Name}' already exists on {admin.Endpoint}");
            }

            if (!exists)
            {
                await client.CreateCredentialAsync(user.Name, user.Password, token);
                madeHere = true;
            }

            // A reset comes first only when it cannot break the published Secret, and after the roles when it replaces
            // its password (see ManagedUser.PasswordPublished).
            var reset = exists && user.ResetPassword;
            if (reset && user.PasswordPublished && await ResetAsync(client, user, admin, token) is { } refused)
            {
                return refused;
            }

            var changes = 0;
            if (user.Roles is { } wanted)
            {
                var current = exists
                    ? (await client.SelectUserAsync(user.Name, includeRoles: true, token)).SelectMany(u => u.Roles).ToHashSet(StringComparer.Ordinal)
                    : [];
                foreach (var role in wanted.Where(r => !current.Contains(r)))
                {
                    await client.AddUserToRoleAsync(user.Name, role, token);
                    changes++;
                }

                foreach (var role in current.Where(r => !wanted.Contains(r, StringComparer.Ordinal)))
                {
                    await client.RemoveUserFromRoleAsync(user.Name, role, token);
                    changes++;
                }
            }

            if (reset && !user.PasswordPublished && await ResetAsync(client, user, admin, token) is { } refusedLast)
            {
                return refusedLast;
            }

            var what = !exists ? "created" : user.ResetPassword ? "password set" : "up to date";
            return new UserAdminOutcome(true, ValidationReasons.Validated,
                $"user '{user.Name}' {what}{(changes > 0 ? $", {changes} role change(s)" : string.Empty)}", !exists, !exists || user.ResetPassword);
        }, ct);
        return madeHere && !outcome.Succeeded ? outcome with { Created = true } : outcome;
    }

    public Task<UserAdminOutcome> DropUserAsync(DatabaseLogin admin, string userName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        return Refuse(userName) is { } refused ? Task.FromResult(refused) : RunAsync(admin, null, async (client, token) =>
        {
            if ((await client.ListCredUsersAsync(token)).Contains(userName, StringComparer.Ordinal))
            {
                await client.DeleteCredentialAsync(userName, token);
            }

            return new UserAdminOutcome(true, ValidationReasons.Validated, $"user '{userName}' dropped");
        }, ct);
    }

    /// <summary>
    /// Milvus checks the old password unless the caller is one of the configured superusers
    /// (<c>common.security.superUsers</c>, empty by default, so root too is checked). The old password sent is the one
    /// Passbox last published; a superuser's reset works whatever it is.
    /// </summary>
    private static async Task<UserAdminOutcome?> ResetAsync(MilvusClient client, ManagedUser user, DatabaseLogin admin, CancellationToken ct)
    {
        if (await TryUpdateAsync(client, user.Name, user.CurrentPassword ?? string.Empty, user.Password, ct))
        {
            return null;
        }

        if (user.CurrentPassword != user.Password && await TryUpdateAsync(client, user.Name, user.Password, user.Password, ct))
        {
            // The server takes the new password as the old one: an earlier reset reached the server but not the published
            // Secret (cut short by a timeout, a crash, a lost lease, or a later step that failed), and the published
            // password would never be accepted as the old one again. Setting it to itself changes nothing.
            return null;
        }

        var known = user.CurrentPassword is null ? "Passbox knows no current password for it" : "its current password is not the one Passbox last published";
        return UserAdminOutcome.Failure(ValidationReasons.PermissionDenied,
            $"as administrator '{admin.LoginName}': {admin.Endpoint} wants the old password to reset user '{user.Name}' and {known}; " +
            "make the administrator a superuser (common.security.superUsers), or drop the user so Passbox creates it again");
    }

    /// <summary>UpdateCredential; false when the server refuses the old password.</summary>
    private static async Task<bool> TryUpdateAsync(MilvusClient client, string userName, string oldPassword, string newPassword, CancellationToken ct)
    {
        try
        {
            await client.UpdateCredentialAsync(userName, oldPassword, newPassword, ct);
            return true;
        }
        catch (MilvusStatusException ex) when (ex.Code == MilvusStatus.NotAuthenticated)
        {
            return false;
        }
    }

    private static UserAdminOutcome? Refuse(string userName) => UserAdminOutcome.RefuseUserName(userName, "a Milvus user name");

    /// <summary>
    /// A built-in administrator role would make the managed user an administrator of the cluster, as a grant on the
    /// mysql schema would on MySQL: refused before the administrator logs in, so nothing on the server changes.
    /// </summary>
    private static UserAdminOutcome? RefuseRoles(IReadOnlyList<string>? roles) =>
        roles?.FirstOrDefault(PrivilegedMilvusRoles.Contains) is { } role
            ? UserAdminOutcome.Failure(ValidationReasons.InvalidSpec,
                $"provisioning.roles: '{role}' is a built-in administrator role ({PrivilegedMilvusRoles.Text}) that would make the user an administrator of the cluster; " +
                "Passbox does not grant it. Grant the user a role with only the privileges it needs.")
            : null;

    private static async Task<UserAdminOutcome> RunAsync(DatabaseLogin admin, ManagedUser? user,
        Func<MilvusClient, CancellationToken, Task<UserAdminOutcome>> work, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(admin.Timeout);
        var limit = EndpointSessionLimit.Shared;

        // The administrator's client counts towards the endpoint's sessions like a check's (see MilvusConnector).
        using var slot = await limit.TryEnterAsync(admin.Endpoint, timeout.Token, ct);
        if (slot is null)
        {
            return AdminFailure.From(ValidationOutcome.Failure(ValidationReasons.Timeout, limit.Busy(admin.Endpoint, admin.Timeout)), admin, user);
        }

        MilvusClient client;
        try
        {
            client = MilvusClient.Create(admin);
        }
        catch (ArgumentException ex)
        {
            return AdminFailure.From(ValidationOutcome.Failure(ValidationReasons.TLSFailed, $"TLS to {admin.Endpoint}: {ex.Message}"), admin, user);
        }
        catch (UriFormatException)
        {
            return AdminFailure.From(ValidationOutcome.Failure(ValidationReasons.InvalidSpec, MilvusClient.AddressProblem(admin)), admin, user);
        }

        using (client)
        {
            try
            {
                return await work(client, timeout.Token);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                throw new OperationCanceledException(ct);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
            {
                // RBAC refused a user-management call: the administrator lacks the admin role, not the right to connect.
                var target = user is null ? "users" : $"user '{user.Name}'";
                return AdminFailure.From(ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                    $"{admin.Endpoint} does not let it manage {target} ({ex.Status.Detail}); use an administrator with the admin role (root, Zilliz Cloud's db_admin)"), admin, user);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return AdminFailure.From(await MilvusErrors.DiagnoseAsync(ex, admin, client.CertificateFailure, timeout.Token), admin, user);
            }
        }
    }
}
