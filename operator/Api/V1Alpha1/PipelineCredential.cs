using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.Schema;

namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>
/// What a CI/CD pipeline needs to reach a git server, a container registry or another cluster: a username and
/// password, a secret text (access token) or a kubeconfig. The operator checks it against the server it is for and
/// publishes a Secret shaped for Tekton, Argo CD and Jenkins. The resource name is the credential's ID for pipelines.
/// </summary>
[KubernetesEntity(Group = ApiGroup.Group, ApiVersion = ApiGroup.Version, Kind = KindName, PluralName = Plural)]
[CustomResource(ShortNames = ["pcred"], Categories = [ApiGroup.Category])]
[PrinterColumn("Type", ".spec.type", Order = 0)]
[PrinterColumn("Server", ".spec.server", Priority = 1, Order = 1)]
[PrinterColumn("Ready", ".status.conditions[?(@.type==\"Ready\")].status", Order = 2)]
[PrinterColumn("Reason", ".status.conditions[?(@.type==\"Ready\")].reason", Order = 3)]
[PrinterColumn("Used By", ".status.usedBy.count", "integer", Order = 4)]
// A string, not a date: kubectl shows a date column as an age, and a time to come as "<invalid>".
[PrinterColumn("Expires", ".status.expiresAt", Order = 5)]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date", Order = 6)]
[CelRule(CredentialName.CelRule, CredentialName.CelMessage, OptionalOldSelf = true)]
public sealed class PipelineCredential : IKubernetesObject<V1ObjectMeta>, ISpec<PipelineCredentialSpec>, IStatus<PipelineCredentialStatus?>
{
    public const string KindName = "PipelineCredential";
    public const string Plural = "pipelinecredentials";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The credential, the server it is for and the shape of the generated Secret.</summary>
    [Required]
    [JsonPropertyName("spec")]
    public PipelineCredentialSpec Spec { get; set; } = new();

    /// <summary>Outcome of the last check, as observed by the operator.</summary>
    [StatusSubresource]
    [JsonPropertyName("status")]
    public PipelineCredentialStatus? Status { get; set; }
}

/// <summary>The credential, the server it is for and the shape of the generated Secret.</summary>
[CelRule("(self.type == 'UsernamePassword') == has(self.usernamePassword)",
    "usernamePassword is required when type is UsernamePassword and not allowed otherwise", FieldPath = ".usernamePassword", Order = 0)]
[CelRule("(self.type == 'SecretText') == has(self.secretText)",
    "secretText is required when type is SecretText and not allowed otherwise", FieldPath = ".secretText", Order = 1)]
[CelRule("(self.type == 'Kubeconfig') == has(self.kubeconfig)",
    "kubeconfig is required when type is Kubeconfig and not allowed otherwise", FieldPath = ".kubeconfig", Order = 2)]
[CelRule("!has(self.validation) || !has(self.validation.probe) || !(self.validation.probe in ['GitHTTP', 'ContainerRegistry']) || has(self.server)",
    "server is required for the GitHTTP and ContainerRegistry probes", FieldPath = ".server", Reason = "FieldValueRequired", Order = 3)]
// One rule for both directions, so that one mistake gets one message: a kubeconfig is checked against its API server
// or not at all (None: a cluster the operator cannot reach), and GitHTTP and ContainerRegistry need a password or token.
[CelRule("!has(self.validation) || !has(self.validation.probe) || " +
    "(self.type == 'Kubeconfig' ? self.validation.probe in ['KubernetesAPI', 'None'] : self.validation.probe != 'KubernetesAPI')",
    "the KubernetesAPI probe is for type Kubeconfig, and type Kubeconfig is checked with KubernetesAPI or None " +
    "(GitHTTP and ContainerRegistry need a username and password or a token)", FieldPath = ".validation.probe", Order = 4)]
[CelRule("!has(self.secret) || !has(self.secret.format) || self.secret.format != 'BasicAuth' || self.type == 'UsernamePassword'",
    "format BasicAuth needs type UsernamePassword", FieldPath = ".secret.format", Order = 5)]
[CelRule("!has(self.secret) || !has(self.secret.format) || self.secret.format != 'DockerConfigJson' || (self.type == 'UsernamePassword' && has(self.server))",
    "format DockerConfigJson needs type UsernamePassword and a server (the registry)", FieldPath = ".secret.format", Order = 6)]
[CelRule("!has(self.secret) || !has(self.secret.argoCD) || !has(self.secret.argoCD.secretType) || (self.secret.argoCD.secretType == 'Cluster') == (self.type == 'Kubeconfig')",
    "secret.argoCD.secretType Cluster is for type Kubeconfig, and Repository and RepoCreds are for types UsernamePassword and SecretText",
    FieldPath = ".secret.argoCD.secretType", Order = 7)]
[CelRule("self.type == 'Kubeconfig' || has(self.server) || !has(self.secret) || " +
    "!(has(self.secret.argoCD) && has(self.secret.argoCD.secretType) ? self.secret.argoCD.secretType != 'Cluster' : has(self.secret.consumers) && 'ArgoCD' in self.secret.consumers)",
    "server (the repository URL) is required when the Secret is for Argo CD as a Repository or RepoCreds (the default for types UsernamePassword and SecretText)",
    FieldPath = ".server", Reason = "FieldValueRequired", Order = 8)]
// Tekton finds a Secret by the tekton.dev/git-0 or docker-0 annotation, whose value is the server: without one the
// Secret was published for Tekton with nothing Tekton reads. A kubeconfig gets no Tekton annotation with or without a
// server (Tekton has none for clusters; a task mounts the kubeconfig key as a workspace), so the rule leaves it alone.
[CelRule("self.type == 'Kubeconfig' || has(self.server) || !has(self.secret) || !has(self.secret.consumers) || !('Tekton' in self.secret.consumers)",
    "server (the git repository or registry) is required when the Secret is for Tekton: Tekton picks the Secret up by its " +
    "tekton.dev/git-0 or tekton.dev/docker-0 annotation, which names the server",
    FieldPath = ".server", Reason = "FieldValueRequired", Order = 9)]
// The two server rules sit on the spec, not on server: the API server quotes a string that fails its own rule, and the
// first one would quote the token (into kubectl's output, or the sync error a GitOps tool shows everyone).
// User info would be copied where the server is published (a Tekton annotation, Argo CD's url), leaking the token.
[CelRule("!has(self.server) || !self.server.matches('" + ValidationPatterns.ServerUserInfo + "')",
    "server must not carry user info (user:token@): put the username in usernamePassword and the password or token in its Secret",
    FieldPath = ".server", Order = 10)]
// Anything else the operator could not parse as a URL: a port that is not a number (5OOO), out of range, no host.
[CelRule("!has(self.server) || self.server.matches('" + ValidationPatterns.ServerUserInfo + "') || self.server.matches('" + ValidationPatterns.ServerHostAndPort + "')",
    "server must be a host name, IPv4 address or [IPv6] address with an optional port of digits from 1 to 65535 and an optional path, " +
    "such as https://git.example.com/team/app.git or registry.example.com:5000", FieldPath = ".server", Order = 11)]
// A kubeconfig names its clusters' CAs itself (certificate-authority-data), and two places for one CA would disagree.
[CelRule("!has(self.tls) || self.type != 'Kubeconfig'",
    "tls is for a git server or registry; a Kubeconfig gives its cluster's CA as certificate-authority-data",
    FieldPath = ".tls", Order = 12)]
[CelRule("!has(self.secret) || !has(self.secret.argoCD) || !has(self.secret.argoCD.clusterName) || self.type == 'Kubeconfig'",
    "secret.argoCD.clusterName names an Argo CD cluster, which is for type Kubeconfig",
    FieldPath = ".secret.argoCD.clusterName", Order = 13)]
public sealed class PipelineCredentialSpec
{
    /// <summary>UsernamePassword, SecretText (an access token) or Kubeconfig. Immutable.</summary>
    [Required]
    [CelRule("self == oldSelf", "type is immutable: create a new PipelineCredential instead")]
    public PipelineCredentialType Type { get; set; }

    /// <summary>Free text for people: what this credential is for. Can be changed at any time.</summary>
    [StringLength(1024)]
    public string? Description { get; set; }

    /// <summary>
    /// The server the credential is for: a git repository URL (<c>https://git.example.com/team/app.git</c>) or a
    /// registry (<c>https://registry.example.com</c>, <c>registry.example.com:5000</c>). Optional for Kubeconfig, which
    /// names its own server. No user info: the username and password or token come from the credential's own fields.
    /// </summary>
    [StringLength(2048, MinimumLength = 1)]
    [RegularExpression(@"^(https?://)?[A-Za-z0-9\[][^\s]*$")]
    public string? Server { get; set; }

    /// <summary>A username and a password from a Secret. For type UsernamePassword.</summary>
    public UsernamePasswordSource? UsernamePassword { get; set; }

    /// <summary>A secret text (access token) from a Secret. For type SecretText.</summary>
    public SecretTextSource? SecretText { get; set; }

    /// <summary>A kubeconfig from a Secret. For type Kubeconfig.</summary>
    public KubeconfigSource? Kubeconfig { get; set; }

    /// <summary>
    /// TLS towards the git server or registry: the CA that signed its certificate, when that is a private one. Not for
    /// Kubeconfig, which names its cluster's CA itself.
    /// </summary>
    public PipelineTlsSettings? Tls { get; set; }

    /// <summary>How and when to check the credential against its server.</summary>
    public PipelineValidationSettings? Validation { get; set; }

    /// <summary>Name, format and consumers of the generated Secret.</summary>
    public PipelineSecretSettings? Secret { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<PipelineCredentialType>))]
public enum PipelineCredentialType
{
    UsernamePassword,
    SecretText,
    Kubeconfig,
}

/// <summary>A username and a password from a Secret.</summary>
public sealed class UsernamePasswordSource
{
    /// <summary>The user name on the server.</summary>
    [Required]
    [StringLength(256, MinimumLength = 1)]
    public string Username { get; set; } = "";

    /// <summary>Secret key holding the password.</summary>
    [Required]
    public SecretKeyReference PasswordSecretRef { get; set; } = new();
}

/// <summary>A secret text (access token) from a Secret.</summary>
public sealed class SecretTextSource
{
    /// <summary>Secret key holding the text.</summary>
    [Required]
    public SecretKeyReference SecretRef { get; set; } = new();
}

/// <summary>A kubeconfig from a Secret.</summary>
public sealed class KubeconfigSource
{
    /// <summary>Secret key holding the kubeconfig. Kubeconfigs with exec or auth-provider plugins are refused.</summary>
    [Required]
    public SecretKeyReference SecretRef { get; set; } = new();

    /// <summary>Context to use. Defaults to the kubeconfig's current-context.</summary>
    [StringLength(253, MinimumLength = 1)]
    public string? Context { get; set; }
}

/// <summary>TLS towards a git server or registry.</summary>
public sealed class PipelineTlsSettings
{
    /// <summary>
    /// Secret key holding the CA certificate(s), PEM, that signed the server's certificate: trusted instead of the system's
    /// certificate authorities when the credential is checked (a git server or registry with a private or in-house CA).
    /// </summary>
    [Required]
    public SecretKeyReference CaSecretRef { get; set; } = new();
}

/// <summary>How and when to check the credential against its server.</summary>
public sealed class PipelineValidationSettings
{
    /// <summary>
    /// GitHTTP (git smart HTTP with basic auth), ContainerRegistry (registry API v2), KubernetesAPI (the API server a
    /// kubeconfig names) or None. Defaults to KubernetesAPI for Kubeconfig and None otherwise.
    /// </summary>
    public PipelineProbe? Probe { get; set; }

    /// <summary>How often to check again when nothing changed, such as <c>1h</c>, from 1s to 8760h; <c>"0"</c> (quoted) only on change. Defaults to 1h.</summary>
    [StringLength(32)]
    [RegularExpression(ValidationPatterns.Duration)]
    [CelRule(ValidationPatterns.WhenDuration + "(duration(self) == duration('0s') || (duration(self) >= duration('1s') && duration(self) <= duration('8760h')))", "interval must be 0 or from 1s to 8760h (one year)")]
    public string? Interval { get; set; }

    /// <summary>How long one check may take, from 1s to 5m. Defaults to 10s.</summary>
    [StringLength(32)]
    [RegularExpression(ValidationPatterns.Duration)]
    [CelRule(ValidationPatterns.WhenDuration + "(duration(self) >= duration('1s') && duration(self) <= duration('5m'))", "timeout must be between 1s and 5m")]
    public string? Timeout { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<PipelineProbe>))]
public enum PipelineProbe
{
    None,
    GitHTTP,
    ContainerRegistry,
    KubernetesAPI,
}

/// <summary>Name, format and consumers of the generated Secret.</summary>
public sealed class PipelineSecretSettings : GeneratedSecretSettings
{
    /// <summary>
    /// Opaque (keys per consumer), BasicAuth (<c>kubernetes.io/basic-auth</c>, needs UsernamePassword) or
    /// DockerConfigJson (<c>kubernetes.io/dockerconfigjson</c> for the registry in server, needs UsernamePassword).
    /// Defaults to Opaque.
    /// </summary>
    public SecretFormat? Format { get; set; }

    /// <summary>Tools that should pick the Secret up directly: Tekton, ArgoCD and Jenkins labels, annotations and keys.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(3)]
    public List<SecretConsumer>? Consumers { get; set; }

    /// <summary>Argo CD specifics, used when consumers include ArgoCD.</summary>
    public ArgoCDSettings? ArgoCD { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<SecretFormat>))]
public enum SecretFormat
{
    Opaque,
    BasicAuth,
    DockerConfigJson,
}

[JsonConverter(typeof(JsonStringEnumConverter<SecretConsumer>))]
public enum SecretConsumer
{
    Tekton,
    ArgoCD,
    Jenkins,
}

/// <summary>Argo CD specifics of the generated Secret.</summary>
public sealed class ArgoCDSettings
{
    /// <summary>
    /// Repository (one repository, url = server), RepoCreds (credentials for every repository under the server URL)
    /// or Cluster (for Kubeconfig). Defaults to RepoCreds, or Cluster for Kubeconfig.
    /// </summary>
    public ArgoCDSecretType? SecretType { get; set; }

    /// <summary>Argo CD project the repository or cluster belongs to.</summary>
    [StringLength(253, MinimumLength = 1)]
    public string? Project { get; set; }

    /// <summary>
    /// Repository type: git, helm or oci. Defaults to helm for a container registry (secret.format DockerConfigJson or
    /// validation.probe ContainerRegistry), else git. helm for a registry means Helm charts stored in it (url without
    /// scheme, enableOCI "true"); oci (Argo CD 3.1+) means OCI artifacts (url oci://).
    /// </summary>
    [RegularExpression("^(git|helm|oci)$")]
    public string? RepositoryType { get; set; }

    /// <summary>
    /// The cluster's name in Argo CD (the cluster Secret's <c>name</c>, which Applications can target as
    /// <c>destination.name</c>), for type Kubeconfig. Defaults to the kubeconfig context's name, which many clusters share
    /// (<c>default</c>, <c>kubernetes-admin@kubernetes</c>): give each cluster its own here.
    /// </summary>
    [StringLength(253, MinimumLength = 1)]
    [RegularExpression(@"^\S(.*\S)?$")]
    public string? ClusterName { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<ArgoCDSecretType>))]
public enum ArgoCDSecretType
{
    Repository,
    RepoCreds,
    Cluster,
}

/// <summary>Outcome of the last check, as observed by the operator.</summary>
public sealed class PipelineCredentialStatus : CredentialStatus
{
    /// <summary>The probe that was used.</summary>
    public string? Probe { get; set; }
}
