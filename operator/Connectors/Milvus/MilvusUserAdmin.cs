using Grpc.Core;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>
/// Manages a Milvus / Zilliz Cloud user with an administrator's login: <c>CreateCredential</c> when missing,
/// <c>UpdateCredential</c> to reset the password (a superuser's reset needs no old password), <c>OperateUserRole</c>
/// to make the roles exactly the listed ones, and <c>DeleteCredential</c>. The server refuses to drop root (1401);
/// Passbox refuses every <see cref="ProtectedUserNames">protected user</see> before asking.
/// </summary>
public sealed class MilvusUserAdmin : IDatabaseUserAdmin
{
    public DatabaseEngine Engine => DatabaseEngine.Milvus;

    public Task<UserAdminOutcome> EnsureUserAsync(DatabaseLogin admin, ManagedUser user, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(user);
        return Refuse(user.Name) is { } refused ? Task.FromResult(refused) : RunAsync(admin, user, async (client, token) =>
        {
            var exists = (await client.ListCredUsersAsync(token)).Contains(user.Name, StringComparer.Ordinal);
            if (!exists)
            {
                await client.CreateCredentialAsync(user.Name, user.Password, token);
            }
            else if (user.ResetPassword)
            {
                // The old password is not checked when the caller is a superuser, which the admin credential must be.
                await client.UpdateCredentialAsync(user.Name, string.Empty, user.Password, token);
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

            var what = !exists ? "created" : user.ResetPassword ? "password set" : "up to date";
            return new UserAdminOutcome(true, ValidationReasons.Validated,
                $"user '{user.Name}' {what}{(changes > 0 ? $", {changes} role change(s)" : string.Empty)}", !exists, !exists || user.ResetPassword);
        }, ct);
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

    private static UserAdminOutcome? Refuse(string userName)
    {
        if (ProtectedUserNames.Contains(userName))
        {
            return UserAdminOutcome.Failure(ValidationReasons.ProtectedUser, $"'{userName}' is an administrator Passbox never creates, resets or drops");
        }

        return UserNames.IsValid(userName)
            ? null
            : UserAdminOutcome.Failure(ValidationReasons.InvalidSpec, $"'{userName}' is not a Milvus user name: a letter, then letters, digits or _, at most 32");
    }

    private static async Task<UserAdminOutcome> RunAsync(DatabaseLogin admin, ManagedUser? user,
        Func<MilvusClient, CancellationToken, Task<UserAdminOutcome>> work, CancellationToken ct)
    {
        MilvusClient client;
        try
        {
            client = MilvusClient.Create(admin);
        }
        catch (ArgumentException ex)
        {
            return AdminFailure.From(ValidationOutcome.Failure(ValidationReasons.TLSFailed, $"TLS to {admin.Endpoint}: {ex.Message}"), admin, user);
        }

        using (client)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(admin.Timeout);
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
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return AdminFailure.From(MilvusErrors.ToOutcome(ex, admin, timeout.IsCancellationRequested, client.CertificateFailure), admin, user);
            }
        }
    }
}
