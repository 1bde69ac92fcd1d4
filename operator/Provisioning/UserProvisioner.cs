using System.Reflection;
using System.Text.Json.Serialization;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;
using Passbox.Operator.Connectors.MySql;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// ClusterCredential's user management. Before sources are read it makes sure a generated password exists and
/// rotates it when due; before a due check whose inputs changed (or whose last login or last change failed) it creates
/// the user, sets the password when it changed (or the last login with it was refused) and grants privileges or roles,
/// through the admin credential; a periodic check of an unchanged user involves no administrator at all. On deletion
/// it drops the user when deletionPolicy is Delete. The check that follows proves the login before anything is published.
/// </summary>
public sealed class UserProvisioner(
    GeneratedPasswordStore passwords,
    AdminLogins admins,
    PublishedPasswords published,
    AdminReferences adminReferences,
    IEventSink events,
    DatabaseConnectors connectors,
    TimeProvider time) : ICredentialProvisioning<ClusterCredential>
{
    private static readonly Dictionary<DatabaseEngine, IDatabaseUserAdmin> UserAdmins = new Dictionary<DatabaseEngine, IDatabaseUserAdmin>
    {
        [DatabaseEngine.MySQL] = new MySqlUserAdmin(DatabaseEngine.MySQL),
        [DatabaseEngine.OceanBase] = new MySqlUserAdmin(DatabaseEngine.OceanBase),
        [DatabaseEngine.Milvus] = new MilvusUserAdmin(),
    };

    public async Task<PrepareResult> PrepareAsync(ClusterCredential credential, CredentialStatus status, CancellationToken ct)
    {
        var clusterStatus = (ClusterCredentialStatus)status;
        var spec = credential.Spec;
        if (spec.Provisioning is not { } provisioning)
        {
            clusterStatus.Provisioning = null;
            return PrepareResult.Nothing;
        }

        if (Refusal(spec) is { } refused)
        {
            return new PrepareResult(refused, null);
        }

        clusterStatus.Provisioning ??= new ProvisioningStatus();
        if (spec.PasswordSecretRef is not null)
        {
            clusterStatus.Provisioning.NextRotation = null;
            return PrepareResult.Nothing;
        }

        TimeSpan? rotation = provisioning.Rotation is { } r ? GoDuration.Parse(r.Period, TimeSpan.Zero) : null;
        // The password Secret's inputs are the spec alone: an edit of it retries a refused write at once.
        var scope = new RefusedWriteScope(CheckMemory.KeyOf(credential), $"{credential.Metadata.Generation}");
        var state = await passwords.EnsureAsync(credential.Metadata.NamespaceProperty, credential.Metadata.Name,
            provisioning.PasswordPolicy, rotation is { } p && p > TimeSpan.Zero ? p : null, scope, ct);
        if (state.FailureReason is { } reason)
        {
            return new PrepareResult(ValidationOutcome.Failure(reason, state.Failure!), state.RetryAfter);
        }

        if (state.Notice is { } notice)
        {
            await events.WarningAsync(credential, "PasswordAgeUnknown", notice, ct);
        }

        clusterStatus.Provisioning.NextRotation = state.NextRotation?.UtcDateTime is { } next ? StatusTime.Truncate(next) : null;
        var now = time.GetUtcNow();
        return new PrepareResult(null, state.NextRotation is { } due ? Max(due - now, TimeSpan.FromSeconds(1)) : null);
    }

    public bool Manages(ClusterCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return credential.Spec?.Provisioning is not null;
    }

    public async Task<ValidationOutcome?> ApplyAsync(ClusterCredential credential, SourceValues sources, CredentialStatus status, bool loginRefused,
        PublishTrial trial, CancellationToken ct)
    {
        var spec = credential.Spec;
        if (spec.Provisioning is not { } provisioning)
        {
            return null;
        }

        var username = spec.Username!;
        var effective = EffectiveClusterSpec.From(credential);
        var source = sources.All.First(v => v.Reference.ToString() == effective.PasswordSecretRef!.ToString());
        var provisioned = ((ClusterCredentialStatus)status).Provisioning ??= new ProvisioningStatus();
        var applied = AppliedRevision(credential, effective);
        var passwordChanged = await PasswordChangedAsync(credential, status, provisioned, source, ct);
        // Passbox's own user is the one it made on the admin's server: pointed at another server, a user of that name is
        // someone else's (left alone unless adopted or its password is already the desired one), not ours to reset.
        var server = AdminServer(credential);
        var ours = ProvisionedServer.Manages(provisioned, username, server);
        if (!passwordChanged && !loginRefused && ours && provisioned.AppliedRevision == applied)
        {
            // The server already holds what the spec asks for, and the user's login worked last time: a periodic check
            // logs in as the user only. The administrator is needed again when something changes or that login fails.
            provisioned.PasswordVersion = source.Version;
            provisioned.Server ??= server;
            return null;
        }

        // A new password for a user whose Secret is published (a rotation, a changed password Secret): workloads log in with
        // the published one until the Secret holds the new one. Set first and the Secret's write refused after (a policy
        // or webhook that denies changes of it, a quota, RBAC), they would be locked out for as long as the refusal
        // lasts; so the write is tried first, dry, and while it would be refused the server keeps the published password.
        // Asked before the administrator logs in: a retry costs one dry run, no session on the server.
        if (passwordChanged && status.PublishedRevision is not null && await trial.RefusalAsync(ct) is { } refused)
        {
            return ValidationOutcome.Failure(refused.Reason,
                $"the password of user '{username}' was not changed, so Secret {status.SecretName} keeps the one that logs in (the new one is set " +
                $"once the API server takes the Secret that publishes it): {refused.Message}");
        }

        var admin = await admins.ResolveAsync(credential, ct);
        if (admin.Login is not { } login)
        {
            return ValidationOutcome.Failure(admin.FailureReason!, $"cannot manage user '{username}': {admin.Failure}");
        }

        var reset = passwordChanged || !ours || loginRefused;
        var user = new ManagedUser
        {
            Name = username,
            Password = source.Text,
            // Passbox's own user (this credential applied provisioning for it before) or one the spec adopts.
            MayAdopt = provisioning.AdoptExisting == true || ours,
            ResetPassword = reset,
            PasswordPublished = !passwordChanged,
            CurrentPassword = reset && spec.Engine == ClusterEngine.Milvus ? await published.ReadAsync(credential, ct) : null,
            Grants = (provisioning.Grants ?? []).Select(g => new SqlGrant(g.Database, g.Privileges.Select(Keyword).ToList())).ToList(),
            Roles = provisioning.Roles?.Select(r => r.Name).ToList(),
        };

        var userAdmin = UserAdmins[ClusterCredentialKind.MapEngine(spec.Engine)];
        var outcome = await userAdmin.EnsureUserAsync(login, user, ct);
        if (outcome.Reason == ValidationReasons.UserExists)
        {
            if (!await DesiredPasswordLogsInAsync(credential, sources, ct))
            {
                return ValidationOutcome.Failure(ValidationReasons.UserExists,
                    $"{outcome.Message} and is not Passbox's (this credential never managed it on that server, and its password is not the desired one), so nothing was changed; " +
                    "to let Passbox take it over and set its password, set spec.provisioning.adoptExisting to true, or choose another username");
            }

            // The password is already the desired one: Passbox set it before its status could record so (or a Retain
            // policy kept the user and its generated password). Taking it over changes no login.
            outcome = await userAdmin.EnsureUserAsync(login, user with { MayAdopt = true, ResetPassword = false }, ct);
        }

        if (outcome.Reason == ValidationReasons.AdminAuthenticationFailed)
        {
            return ValidationOutcome.Failure(outcome.Reason,
                $"cannot manage user '{username}' {outcome.Message.TrimEnd().TrimEnd('.')}. Fix the login of admin ClusterCredential " +
                $"{admin.CredentialName} (the password or API key in its Secret): this credential is checked again as soon as the admin " +
                "credential validates with new inputs, otherwise after validation.interval");
        }

        if (!outcome.Succeeded)
        {
            if (outcome.Created)
            {
                // Created before a grant or role was refused: Passbox's own user now, which deletionPolicy Delete must drop
                // (and the next attempt may take over). What was applied is not recorded, so that attempt applies it all.
                provisioned.User = username;
                provisioned.Server = server;
            }

            return ValidationOutcome.Failure(outcome.Reason, $"cannot manage user '{username}' {outcome.Message}" + PrivilegeHint(spec.Engine, outcome.Reason, admin.CredentialName!,
                "CREATE USER (to create the user and set its password) and each privilege of provisioning.grants on its database WITH GRANT OPTION"));
        }

        provisioned.User = username;
        provisioned.Server = server;
        provisioned.PasswordVersion = source.Version;
        provisioned.AppliedRevision = applied;
        if (outcome.PasswordSet)
        {
            provisioned.PasswordSet = StatusTime.Now(time);
            await events.NormalAsync(credential, outcome.Created ? "UserCreated" : "PasswordReset",
                $"{outcome.Message} with admin credential {admin.CredentialName}", ct);
        }

        return null;
    }

    /// <summary>
    /// True when the password Secret may hold another password than the user's on the server. A new version of that
    /// Secret is no change when it holds exactly the password last published (only its labels or annotations were
    /// edited): that one was set and then proved by a login, provided the last check's inputs are the published ones.
    /// The comparison is made with the published Secret, not a hash in the status, which anyone who reads the
    /// credential could try passwords against.
    /// </summary>
    private async Task<bool> PasswordChangedAsync(ClusterCredential credential, CredentialStatus status, ProvisioningStatus provisioned,
        SourceValue source, CancellationToken ct)
    {
        if (provisioned.PasswordVersion == source.Version)
        {
            return false;
        }

        var lastCheckPublished = provisioned.PasswordVersion is not null && status.PublishedRevision is not null
            && status.PublishedRevision == status.AttemptedRevision;
        return !lastCheckPublished || await published.ReadAsync(credential, ct) != source.Text;
    }

    /// <summary>
    /// Whether the desired password logs in as the user already, without naming a database (its grants may be what
    /// is still missing). Any other answer, a refusal or an unreachable server, is no proof.
    /// </summary>
    private async Task<bool> DesiredPasswordLogsInAsync(ClusterCredential credential, SourceValues sources, CancellationToken ct)
    {
        var login = ClusterCredentialKind.Login(credential, sources) with { Database = null };
        return (await connectors.ValidateAsync(ClusterCredentialKind.MapEngine(credential.Spec.Engine), login, ct)).Succeeded;
    }

    /// <summary>
    /// Fingerprint of what the administrator applies: the login (endpoint, user, password reference) and the provisioning
    /// spec. A grant on a database with <c>_</c> in its name adds a mark of the escaped form, so a user an older Passbox
    /// granted the unescaped wildcard form is applied once more after an upgrade, which revokes that form.
    /// </summary>
    private static string AppliedRevision(ClusterCredential credential, EffectiveClusterSpec effective) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            effective.LoginRelevantJson() + "\n" + k8s.KubernetesJson.Serialize(credential.Spec.Provisioning)
            + (credential.Spec.Provisioning?.Grants?.Any(g => g.Database.Contains('_', StringComparison.Ordinal)) == true ? "\ngrants: _ escaped" : string.Empty))))[..16];

    public async Task<ReleaseResult> ReleaseAsync(ClusterCredential credential, CancellationToken ct)
    {
        var spec = credential.Spec;
        if (spec.Provisioning is not { } provisioning)
        {
            return ReleaseResult.Nothing;
        }

        var username = spec.Username!;
        if ((provisioning.DeletionPolicy ?? DeletionPolicy.Retain) == DeletionPolicy.Retain || Refusal(spec) is not null)
        {
            var kept = spec.PasswordSecretRef is null ? $" and its password in Secret {GeneratedPasswordStore.SecretName(credential.Metadata.Name)}" : string.Empty;
            return new ReleaseResult(true, "UserRetained", $"user '{username}'{kept} kept (deletionPolicy Retain)");
        }

        if (credential.Status?.Provisioning?.User != username)
        {
            // Never managed by this credential (refused as UserExists, say): the user is someone else's to drop.
            return new ReleaseResult(true, "UserRetained", $"user '{username}' kept: Passbox never managed it for this credential");
        }

        if (AdminServer(credential) is { } server && !ProvisionedServer.Manages(credential.Status.Provisioning, username, server))
        {
            // The admin now logs in to another server than the one the user was made on: the user of that name there is
            // not the one Passbox made, and the one it made is out of reach.
            return new ReleaseResult(true, "UserRetained",
                $"user '{username}' kept: Passbox managed it on {credential.Status.Provisioning.Server}, and admin ClusterCredential " +
                $"{provisioning.AdminCredentialRef.Name} logs in to {server}, where a user of that name is not Passbox's; drop the one on " +
                $"{credential.Status.Provisioning.Server} by hand if it is no longer needed" +
                (spec.PasswordSecretRef is null ? $" (its password stays in Secret {GeneratedPasswordStore.SecretName(credential.Metadata.Name)})" : string.Empty));
        }

        var admin = await admins.ResolveAsync(credential, ct);
        var interval = AdminInterval(credential);
        if (admin.Login is not { } login)
        {
            return new ReleaseResult(false, admin.FailureReason!, $"cannot drop user '{username}': {admin.Failure}", interval);
        }

        var outcome = await UserAdmins[ClusterCredentialKind.MapEngine(spec.Engine)].DropUserAsync(login, username, ct);
        if (outcome.Reason == ValidationReasons.AdminAuthenticationFailed)
        {
            return new ReleaseResult(false, outcome.Reason,
                $"cannot drop user '{username}' {outcome.Message.TrimEnd().TrimEnd('.')}. Fix the login of admin ClusterCredential " +
                $"{admin.CredentialName} (the password or API key in its Secret): the drop is tried again as soon as the admin credential " +
                "passes a check with it", interval);
        }

        if (!outcome.Succeeded)
        {
            return new ReleaseResult(false, outcome.Reason, $"cannot drop user '{username}' {outcome.Message}" +
                PrivilegeHint(spec.Engine, outcome.Reason, admin.CredentialName!, "CREATE USER, which DROP USER needs"), interval);
        }

        if (spec.PasswordSecretRef is null)
        {
            await passwords.DeleteAsync(credential.Metadata.NamespaceProperty, credential.Metadata.Name, ct);
        }

        return new ReleaseResult(true, "UserDropped", $"{outcome.Message} with admin credential {admin.CredentialName} (deletionPolicy Delete)");
    }

    public bool DropsUserOnDeletion(ClusterCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var spec = credential.Spec;
        return spec.Provisioning is { } provisioning
            && (provisioning.DeletionPolicy ?? DeletionPolicy.Retain) == DeletionPolicy.Delete
            && Refusal(spec) is null
            && ProvisionedServer.Manages(credential.Status?.Provisioning, spec.Username!, AdminServer(credential));
    }

    /// <summary>The server the admin credential named logs in to (see <see cref="ProvisionedServer"/>); null while it does not exist.</summary>
    private string? AdminServer(ClusterCredential credential) =>
        adminReferences.Find(credential.Metadata.NamespaceProperty, credential.Spec.Provisioning!.AdminCredentialRef.Name) is { } admin
            ? ProvisionedServer.Of(admin)
            : null;

    /// <summary>
    /// What to fix when the server refused the administrator a statement (MySQL and OceanBase): the server's words say
    /// which privilege was missing, not whose login to give it to, nor everything else Passbox's statements need.
    /// Milvus's refusals say what to do themselves.
    /// </summary>
    private static string PrivilegeHint(ClusterEngine engine, string reason, string adminName, string needs) =>
        reason == ValidationReasons.PermissionDenied && engine != ClusterEngine.Milvus
            ? $". Give the login of admin ClusterCredential {adminName} {needs}"
            : string.Empty;

    /// <summary>The validation interval of the admin credential named, with the default applied; null while it does not exist.</summary>
    private TimeSpan? AdminInterval(ClusterCredential credential) =>
        adminReferences.Find(credential.Metadata.NamespaceProperty, credential.Spec.Provisioning!.AdminCredentialRef.Name) is { } admin
            ? EffectiveClusterSpec.From(admin).Interval
            : null;

    /// <summary>Any credential naming this one as its admin, provisioned or not yet, blocks its deletion.</summary>
    public IReadOnlyList<string> DependentsOf(ClusterCredential credential) => adminReferences.DependentsOf(credential);

    public DateTimeOffset? WaitOverSince(ClusterCredential credential, string reason) => adminReferences.WaitOverSince(credential, reason);

    /// <summary>Why Passbox will not manage this user at all, or null.</summary>
    private static ValidationOutcome? Refusal(ClusterCredentialSpec spec)
    {
        var username = spec.Username;
        if (spec.Engine == ClusterEngine.OceanBase && ProtectedUserNames.IsSysTenant(spec.OceanBase?.Tenant))
        {
            return ValidationOutcome.Failure(ValidationReasons.ProtectedUser,
                $"the users of OceanBase's sys tenant ('{spec.OceanBase!.Tenant}') administer the whole cluster, and Passbox never creates, resets or drops them; manage users of a business tenant");
        }

        if (ProtectedUserNames.Contains(username))
        {
            return ValidationOutcome.Failure(ValidationReasons.ProtectedUser,
                $"'{username}' is an administrator ({string.Join(", ", ProtectedUserNames.All)}) that Passbox never creates, resets or drops; remove provisioning or manage another user");
        }

        return UserNames.IsValid(username)
            ? null
            : ValidationOutcome.Failure(ValidationReasons.InvalidSpec, $"'{username}' is not a user name Passbox manages: a letter, then letters, digits or _, at most 32");
    }

    /// <summary>The SQL keyword of a privilege, as the schema spells it.</summary>
    public static string Keyword(SqlPrivilege privilege) =>
        typeof(SqlPrivilege).GetField(privilege.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()!.Name;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
