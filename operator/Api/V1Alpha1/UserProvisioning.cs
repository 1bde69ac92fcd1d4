using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Passbox.Operator.Api.Schema;

namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>How the operator manages the user of a ClusterCredential.</summary>
public sealed class UserProvisioning
{
    /// <summary>
    /// The administrator's ClusterCredential in the same namespace (MySQL root, Zilliz db_admin, an OceanBase tenant
    /// administrator) that creates, resets and drops the user. It must have the same engine and be Ready.
    /// </summary>
    [Required]
    public LocalCredentialReference AdminCredentialRef { get; set; } = new();

    /// <summary>Shape of the password the operator generates when no passwordSecretRef is given.</summary>
    public PasswordPolicy? PasswordPolicy { get; set; }

    /// <summary>Privileges on databases (MySQL and OceanBase). Privileges not listed are not revoked.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(32)]
    public List<DatabaseGrant>? Grants { get; set; }

    /// <summary>Roles of the user (Milvus). Roles not listed are removed from the user.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(32)]
    [ListMapKeys("name")]
    public List<MilvusRoleReference>? Roles { get; set; }

    /// <summary>Rotate a generated password on a schedule.</summary>
    public RotationSettings? Rotation { get; set; }

    /// <summary>
    /// What happens to the user when the credential is deleted: Retain (default) keeps the user and the generated
    /// password Secret; Delete drops the user (after nothing uses the Secret any more) and deletes that Secret.
    /// </summary>
    public DeletionPolicy? DeletionPolicy { get; set; }

    /// <summary>
    /// Take over a user that already exists on the server, setting its password: for migrating an existing user to
    /// Passbox. Defaults to false: a user Passbox did not create (and whose login the desired password does not open)
    /// is left alone and reported as UserExists.
    /// </summary>
    public bool? AdoptExisting { get; set; }
}

/// <summary>A ClusterCredential in the same namespace.</summary>
public sealed class LocalCredentialReference
{
    /// <summary>Name of the ClusterCredential.</summary>
    [Required]
    [StringLength(253, MinimumLength = 1)]
    [RegularExpression(ValidationPatterns.DnsSubdomain)]
    public string Name { get; set; } = "";
}

/// <summary>A Milvus role.</summary>
public sealed class MilvusRoleReference
{
    /// <summary>
    /// Name of the role, e.g. <c>public</c> or one created for the application. Not a built-in administrator role
    /// (Milvus's <c>admin</c>, Zilliz Cloud's <c>db_admin</c>): those would make the user an administrator of the cluster.
    /// </summary>
    [Required]
    [StringLength(255, MinimumLength = 1)]
    [RegularExpression(@"^[A-Za-z_][A-Za-z0-9_-]*$")]
    [CelRule("!(self.lowerAscii() in " + PrivilegedMilvusRoles.CelList + ")",
        "roles: admin (Milvus) and db_admin (Zilliz Cloud) make the user an administrator of the cluster; Passbox does not grant them")]
    public string Name { get; set; } = "";
}

/// <summary>
/// Milvus's and Zilliz Cloud's built-in administrator roles, which Passbox never gives a managed user: <c>admin</c> manages
/// every user, role and collection of a Milvus cluster, and Zilliz Cloud's <c>db_admin</c> has full control of the cluster.
/// The one list behind both the schema's rule and the operator's runtime refusal, compared without case.
/// </summary>
public static class PrivilegedMilvusRoles
{
    /// <summary>The list for people, and the only place the names are written down.</summary>
    public const string Text = "admin, db_admin";

    /// <summary>The list as a CEL expression, for the schema.</summary>
    public const string CelList = "'" + Text + "'.split(', ')";

    public static IReadOnlyList<string> All { get; } = Text.Split(", ");

    private static readonly HashSet<string> Names = new(All, StringComparer.OrdinalIgnoreCase);

    /// <summary>Compared without case, as the schema's rule does with <c>lowerAscii()</c>.</summary>
    public static bool Contains(string? role) => role is not null && Names.Contains(role);
}

/// <summary>Length and characters of a generated password. Milvus accepts 6 to 72 safely; Zilliz Cloud wants 8 or more with several character classes.</summary>
public sealed class PasswordPolicy
{
    /// <summary>Number of characters, from 12 to 64. Defaults to 24.</summary>
    [Range(12, 64)]
    public int? Length { get; set; }

    /// <summary>Include punctuation (from <c>-_.~+=!</c>) besides upper- and lower-case letters and digits. Defaults to true.</summary>
    public bool? Symbols { get; set; }
}

/// <summary>Privileges on one database.</summary>
public sealed class DatabaseGrant
{
    /// <summary>The database (schema) the privileges apply to; letters, digits and _ only.</summary>
    [Required]
    [StringLength(64, MinimumLength = 1)]
    [RegularExpression(@"^[A-Za-z0-9_]+$")]
    public string Database { get; set; } = "";

    /// <summary>Privileges to grant on all tables of the database.</summary>
    [Required]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [Length(1, 20)]
    public List<SqlPrivilege> Privileges { get; set; } = [];
}

/// <summary>A database-level MySQL privilege.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SqlPrivilege>))]
public enum SqlPrivilege
{
    [JsonStringEnumMemberName("SELECT")]
    Select,
    [JsonStringEnumMemberName("INSERT")]
    Insert,
    [JsonStringEnumMemberName("UPDATE")]
    Update,
    [JsonStringEnumMemberName("DELETE")]
    Delete,
    [JsonStringEnumMemberName("CREATE")]
    Create,
    [JsonStringEnumMemberName("DROP")]
    Drop,
    [JsonStringEnumMemberName("ALTER")]
    Alter,
    [JsonStringEnumMemberName("INDEX")]
    Index,
    [JsonStringEnumMemberName("REFERENCES")]
    References,
    [JsonStringEnumMemberName("CREATE VIEW")]
    CreateView,
    [JsonStringEnumMemberName("SHOW VIEW")]
    ShowView,
    [JsonStringEnumMemberName("CREATE TEMPORARY TABLES")]
    CreateTemporaryTables,
    [JsonStringEnumMemberName("LOCK TABLES")]
    LockTables,
    [JsonStringEnumMemberName("EXECUTE")]
    Execute,
    [JsonStringEnumMemberName("CREATE ROUTINE")]
    CreateRoutine,
    [JsonStringEnumMemberName("ALTER ROUTINE")]
    AlterRoutine,
    [JsonStringEnumMemberName("TRIGGER")]
    Trigger,
    [JsonStringEnumMemberName("EVENT")]
    Event,
    [JsonStringEnumMemberName("ALL PRIVILEGES")]
    AllPrivileges,
}

/// <summary>When a generated password is replaced.</summary>
public sealed class RotationSettings
{
    /// <summary>Age after which the generated password is replaced, as a duration such as <c>720h</c>; from 1m to 87600h.</summary>
    [Required]
    [StringLength(32)]
    [RegularExpression(ValidationPatterns.Duration)]
    [CelRule(ValidationPatterns.WhenDuration + "(duration(self) >= duration('1m'))", "rotation.period must be at least 1m")]
    [CelRule(ValidationPatterns.WhenDuration + "(duration(self) <= duration('87600h'))", "rotation.period must be at most 87600h (ten years)")]
    public string Period { get; set; } = "";
}

[JsonConverter(typeof(JsonStringEnumConverter<DeletionPolicy>))]
public enum DeletionPolicy
{
    Retain,
    Delete,
}

/// <summary>What the operator last did to the provisioned user. Never a password.</summary>
public sealed class ProvisioningStatus
{
    /// <summary>The user as the server knows it.</summary>
    public string? User { get; set; }

    /// <summary>
    /// The server the user was created or taken over on: the admin credential's endpoint (<c>host:port</c>,
    /// with the OceanBase tenant and cluster). A user of the same name on another server is not Passbox's.
    /// </summary>
    public string? Server { get; set; }

    /// <summary>Version (<c>uid:resourceVersion</c>) of the password Secret last set on the server.</summary>
    public string? PasswordVersion { get; set; }

    /// <summary>When the password was last set on the server.</summary>
    public DateTime? PasswordSet { get; set; }

    /// <summary>When a generated password is due for rotation.</summary>
    public DateTime? NextRotation { get; set; }

    /// <summary>
    /// Fingerprint of the spec (user, endpoint, admin, grants or roles) last applied on the server. The administrator
    /// logs in only when it changes, the password changes, or the user's own login was refused; a periodic check of an
    /// unchanged user checks only that user's login.
    /// </summary>
    public string? AppliedRevision { get; set; }
}

/// <summary>
/// Administrators Passbox never creates, resets or drops: MySQL's and OceanBase's <c>root</c> (also the sys tenant's),
/// OBProxy's <c>proxyro</c>, Oracle-mode <c>sys</c>, OCP's monitor user and Zilliz Cloud's <c>db_admin</c>. The one list
/// behind both the schema's rule and the operator's runtime refusal.
/// </summary>
public static class ProtectedUsers
{
    /// <summary>
    /// The list for people, and the only place the names are written down. In lower case: the schema's rule compares
    /// the user name lowered, as the operator compares without case.
    /// </summary>
    public const string Text = "root, db_admin, proxyro, sys, ocp_monitor";

    /// <summary>
    /// The list as a CEL expression, for the schema: attribute arguments must be constants, so the rule splits the
    /// same text rather than repeating the names.
    /// </summary>
    public const string CelList = "'" + Text + "'.split(', ')";

    public static IReadOnlyList<string> All { get; } = Text.Split(", ");

    private static readonly HashSet<string> Names = new(All, StringComparer.OrdinalIgnoreCase);

    /// <summary>Compared without case: the schema cannot, and <c>ROOT</c> is too close to <c>root</c> to touch.</summary>
    public static bool Contains(string? user) => user is not null && Names.Contains(user);
}
