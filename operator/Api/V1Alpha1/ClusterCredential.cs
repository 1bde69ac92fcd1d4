using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.Schema;

namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>
/// A login to a database cluster (OceanBase, MySQL or Milvus / Zilliz Cloud). The operator logs in with it and,
/// only when that works, publishes a ready-to-mount Secret with the connection details.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
[CustomResource(ShortNames = ["ccred"], Categories = [ApiGroup.Category])]
[PrinterColumn("Engine", ".spec.engine", Order = 0)]
[PrinterColumn("Login", ".status.login", Order = 1)]
[PrinterColumn("Ready", ".status.conditions[?(@.type==\"Ready\")].status", Order = 2)]
[PrinterColumn("Reason", ".status.conditions[?(@.type==\"Ready\")].reason", Order = 3)]
[PrinterColumn("Used By", ".status.usedBy.count", "integer", Order = 4)]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date", Order = 5)]
[PrinterColumn("Server Version", ".status.serverVersion", Priority = 1, Order = 6)]
[CelRule(CredentialName.CelRule, CredentialName.CelMessage, OptionalOldSelf = true)]
public sealed class ClusterCredential : IKubernetesObject<V1ObjectMeta>, ISpec<ClusterCredentialSpec>, IStatus<ClusterCredentialStatus?>
{
    public const string KindName = "ClusterCredential";
    public const string Plural = "clustercredentials";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>What to log in to and with which user.</summary>
    [Required]
    [JsonPropertyName("spec")]
    public ClusterCredentialSpec Spec { get; set; } = new();

    /// <summary>Outcome of the last check, as observed by the operator.</summary>
    [StatusSubresource]
    [JsonPropertyName("status")]
    public ClusterCredentialStatus? Status { get; set; }
}

/// <summary>What to log in to and with which user.</summary>
[CelRule("has(self.apiKeySecretRef) ? !has(self.passwordSecretRef) : (has(self.passwordSecretRef) || has(self.provisioning))",
    "exactly one of passwordSecretRef or apiKeySecretRef must be set (with provisioning, passwordSecretRef may be left out: the operator then generates the password)", Order = 0)]
[CelRule("!(has(self.passwordSecretRef) || has(self.provisioning)) || (has(self.username) && self.username != '')",
    "username is required with passwordSecretRef or provisioning", FieldPath = ".username", Reason = "FieldValueRequired", Order = 1)]
[CelRule("!has(self.apiKeySecretRef) || self.engine == 'Milvus'",
    "apiKeySecretRef is only supported for engine Milvus (Zilliz Cloud API keys)", FieldPath = ".apiKeySecretRef", Order = 2)]
[CelRule("!has(self.apiKeySecretRef) || !has(self.username)",
    "username must not be set with apiKeySecretRef: the API key identifies the user", FieldPath = ".username", Order = 3)]
[CelRule("(self.engine == 'OceanBase') == has(self.oceanBase)",
    "oceanBase (tenant and optional cluster) is required when engine is OceanBase and not allowed otherwise", FieldPath = ".oceanBase", Order = 4)]
[CelRule("!has(self.milvus) || self.engine == 'Milvus'",
    "milvus is only allowed when engine is Milvus", FieldPath = ".milvus", Order = 5)]
[CelRule("self.engine != 'OceanBase' || !has(self.username) || !self.username.matches('[@#:]')",
    "username must be the bare user name for OceanBase: tenant and cluster go in oceanBase", FieldPath = ".username", Order = 6)]
[CelRule("!has(self.provisioning) || !has(self.apiKeySecretRef)",
    "provisioning manages a user with a password; it cannot be combined with apiKeySecretRef", FieldPath = ".provisioning", Order = 7)]
[CelRule("!has(self.provisioning) || !has(self.username) || self.username.matches('^[A-Za-z][A-Za-z0-9_]{0,31}$')",
    "username of a provisioned user must start with a letter and hold only letters, digits and _ (at most 32 characters)", FieldPath = ".username", Order = 8)]
// Without case, as the operator compares (MySQL and OceanBase user names ignore case): ROOT is root.
[CelRule("!has(self.provisioning) || !has(self.username) || !(self.username.lowerAscii() in " + ProtectedUsers.CelList + ")",
    "username names a protected administrator (" + ProtectedUsers.Text + ") that Passbox never creates, resets or drops", FieldPath = ".username", Reason = "FieldValueForbidden", Order = 9)]
[CelRule("!has(self.provisioning) || !has(self.provisioning.grants) || self.engine != 'Milvus'",
    "provisioning.grants are for MySQL and OceanBase; give Milvus users roles", FieldPath = ".provisioning.grants", Order = 10)]
[CelRule("!has(self.provisioning) || !has(self.provisioning.roles) || self.engine == 'Milvus'",
    "provisioning.roles are for Milvus; give MySQL and OceanBase users grants", FieldPath = ".provisioning.roles", Order = 11)]
[CelRule("!has(self.provisioning) || !has(self.provisioning.rotation) || !has(self.passwordSecretRef)",
    "provisioning.rotation needs a password the operator generates: remove passwordSecretRef", FieldPath = ".provisioning.rotation", Order = 12)]
[CelRule("!has(self.provisioning) || !has(self.provisioning.passwordPolicy) || !has(self.passwordSecretRef)",
    "provisioning.passwordPolicy applies to a password the operator generates: remove passwordSecretRef", FieldPath = ".provisioning.passwordPolicy", Order = 13)]
[CelRule("!has(self.provisioning) || !has(self.oceanBase) || self.oceanBase.tenant.lowerAscii() != 'sys'",
    "provisioning cannot manage users of OceanBase's sys tenant: they administer the whole cluster; manage users of a business tenant", FieldPath = ".oceanBase.tenant", Reason = "FieldValueForbidden", Order = 14)]
[CelRule("!has(self.provisioning) || !has(self.validation) || !has(self.validation.disabled) || !self.validation.disabled",
    "validation cannot be disabled with provisioning: the operator creates and resets the user as part of each check", FieldPath = ".validation.disabled", Order = 15)]
[CelRule("!has(oldSelf.provisioning) || !has(self.provisioning) || !has(oldSelf.username) || (has(self.username) && self.username == oldSelf.username)",
    "username cannot change while provisioning is set: the operator would leave the old user behind on the server; create a new ClusterCredential for the new user",
    FieldPath = ".username", Order = 16)]
public sealed class ClusterCredentialSpec
{
    /// <summary>Database engine: OceanBase (MySQL mode), MySQL (also MariaDB) or Milvus (also Zilliz Cloud). Immutable.</summary>
    [Required]
    [CelRule("self == oldSelf", "engine is immutable: create a new ClusterCredential instead")]
    public ClusterEngine Engine { get; set; }

    /// <summary>Free text for people: what this login is for. Can be changed at any time.</summary>
    [StringLength(1024)]
    public string? Description { get; set; }

    /// <summary>Where the server listens.</summary>
    [Required]
    public DatabaseEndpoint Endpoint { get; set; } = new();

    /// <summary>OceanBase tenant and cluster. Required when engine is OceanBase.</summary>
    public OceanBaseSettings? OceanBase { get; set; }

    /// <summary>Milvus settings. Only for engine Milvus.</summary>
    public MilvusSettings? Milvus { get; set; }

    /// <summary>
    /// The user name as the server knows it. For OceanBase give the bare name: the operator logs in as
    /// <c>user@tenant#cluster</c> (through OBProxy) or <c>user@tenant</c> (direct).
    /// </summary>
    [StringLength(128, MinimumLength = 1)]
    public string? Username { get; set; }

    /// <summary>Secret key holding the password.</summary>
    public SecretKeyReference? PasswordSecretRef { get; set; }

    /// <summary>Secret key holding a Zilliz Cloud API key, instead of username and password. Milvus only.</summary>
    public SecretKeyReference? ApiKeySecretRef { get; set; }

    /// <summary>When to check the login again.</summary>
    public ValidationSettings? Validation { get; set; }

    /// <summary>Name, labels and annotations of the generated Secret.</summary>
    public GeneratedSecretSettings? Secret { get; set; }

    /// <summary>
    /// Let the operator manage the user itself with an administrator's credential: create it when missing, set its
    /// password (generated when no passwordSecretRef is given), grant its privileges or roles, rotate the password,
    /// and drop the user when the credential is deleted with deletionPolicy Delete. MySQL, OceanBase and Milvus.
    /// </summary>
    public UserProvisioning? Provisioning { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<ClusterEngine>))]
public enum ClusterEngine
{
    OceanBase,
    MySQL,
    Milvus,
}

/// <summary>Where the server listens.</summary>
public sealed class DatabaseEndpoint
{
    /// <summary>
    /// Host name or IP address of OBProxy, the OBServer, the MySQL server or Milvus, without the port, which goes in
    /// port. An IPv6 address may be written bare or in brackets.
    /// </summary>
    [Required]
    [StringLength(253, MinimumLength = 1)]
    [CelRule(EndpointHost.CelRule, EndpointHost.CelMessage, OptionalOldSelf = true)]
    public string Host { get; set; } = "";

    /// <summary>TCP port. Defaults to 2883 for OceanBase (OBProxy; an OBServer reached directly listens on 2881: set it), 3306 for MySQL and 19530 for Milvus.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>TLS towards the server. Defaults to Preferred.</summary>
    public TlsSettings? Tls { get; set; }
}

/// <summary>OceanBase tenant and cluster.</summary>
public sealed class OceanBaseSettings
{
    /// <summary>Tenant to log in to (MySQL mode). Oracle-mode tenants are not supported.</summary>
    [Required]
    [StringLength(128, MinimumLength = 1)]
    [RegularExpression(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    public string Tenant { get; set; } = "";

    /// <summary>Cluster name as OBProxy knows it. Leave out to log in straight to an OBServer as <c>user@tenant</c> (port 2881), or to an OBProxy that serves one cluster.</summary>
    [StringLength(128, MinimumLength = 1)]
    [RegularExpression(@"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    public string? Cluster { get; set; }
}

/// <summary>Milvus settings.</summary>
public sealed class MilvusSettings
{
    /// <summary>Database to check and to put in the Secret. Defaults to <c>default</c>.</summary>
    [StringLength(64, MinimumLength = 1)]
    [RegularExpression(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    public string? Database { get; set; }
}

/// <summary>Outcome of the last check, as observed by the operator.</summary>
public sealed class ClusterCredentialStatus : CredentialStatus
{
    /// <summary>What the operator last did to the provisioned user.</summary>
    public ProvisioningStatus? Provisioning { get; set; }

    /// <summary>The login the operator used, e.g. <c>app_rw@orders#obcluster</c>. Never a password.</summary>
    public string? Login { get; set; }

    /// <summary>Effective endpoint after defaults, as <c>host:port</c>.</summary>
    public string? Endpoint { get; set; }
}
