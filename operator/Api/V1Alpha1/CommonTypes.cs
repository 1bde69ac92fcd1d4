using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Passbox.Operator.Api.Schema;

namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>When and how long the operator checks that the credential still logs in.</summary>
public sealed class ValidationSettings
{
    /// <summary>
    /// How often the login is checked again when nothing changed, as a duration such as <c>10m</c> or <c>1h</c>.
    /// <c>"0"</c> (quoted: a string) checks only when the spec or a source Secret changes. Failed logins are never retried sooner
    /// than this, so a wrong password cannot lock the account. From 1s to 8760h. Defaults to 10m.
    /// </summary>
    [StringLength(32)]
    [RegularExpression(ValidationPatterns.Duration)]
    [CelRule(ValidationPatterns.WhenDuration + "(duration(self) == duration('0s') || (duration(self) >= duration('1s') && duration(self) <= duration('8760h')))", "interval must be 0 or from 1s to 8760h (one year)")]
    public string? Interval { get; set; }

    /// <summary>How long one check may take, from 1s to 5m, as a duration such as <c>5s</c>. Defaults to 5s.</summary>
    [StringLength(32)]
    [RegularExpression(ValidationPatterns.Duration)]
    [CelRule(ValidationPatterns.WhenDuration + "(duration(self) >= duration('1s') && duration(self) <= duration('5m'))", "timeout must be between 1s and 5m")]
    public string? Timeout { get; set; }

    /// <summary>Publish the Secret without logging in. Use only where the server cannot be reached from the cluster.</summary>
    public bool? Disabled { get; set; }
}

/// <summary>Shape of the Secret the operator generates.</summary>
public class GeneratedSecretSettings
{
    private const string KeyRule =
        "keys must be an optional DNS subdomain prefix (at most 253 characters) and /, then a name of at most 63 letters, digits, -, _ and . " +
        "that starts and ends with a letter or digit, such as example.com/team";

    private const string LabelsMessage = "label " + KeyRule;

    private const string AnnotationsMessage = "annotation " + KeyRule;

    /// <summary>Name of the generated Secret. Defaults to the credential's name.</summary>
    [StringLength(253, MinimumLength = 1)]
    [RegularExpression(ValidationPatterns.DnsSubdomain)]
    public string? Name { get; set; }

    /// <summary>Extra labels for the generated Secret.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(64)]
    // The API server would refuse the Secret (on every reconcile) for a label it does not take; say so at kubectl apply.
    [CelRule("self.all(k, k.matches('" + ValidationPatterns.QualifiedName + "') && (!k.contains('/') || k.indexOf('/') <= 253))", LabelsMessage)]
    [StringLength(63)]
    [RegularExpression(ValidationPatterns.LabelValue)]
    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>Extra annotations for the generated Secret.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(64)]
    [CelRule("self.all(k, k.matches('" + ValidationPatterns.QualifiedName + "') && (!k.contains('/') || k.indexOf('/') <= 253))", AnnotationsMessage)]
    public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>Who still uses the generated Secret.</summary>
public sealed class UsageStatus
{
    /// <summary>Number of objects in the namespace that use the generated Secret.</summary>
    public int Count { get; set; }

    /// <summary>The first few users, for a quick look.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(10)]
    public List<UsageReference>? Items { get; set; }
}

/// <summary>An object that uses the generated Secret.</summary>
public sealed class UsageReference
{
    /// <summary>Kind of the object, e.g. Pod, CronJob or ServiceAccount.</summary>
    [Required]
    public string Kind { get; set; } = "";

    /// <summary>Name of the object, in the credential's namespace.</summary>
    [Required]
    public string Name { get; set; } = "";
}

/// <summary>TLS towards the server.</summary>
public sealed class TlsSettings
{
    /// <summary>
    /// Disabled: plain connection. Preferred: TLS when the server offers it (MySQL, OceanBase); for Milvus, whose gRPC
    /// cannot fall back on one connection, TLS without a certificate check, so a self-hosted Milvus that serves plain
    /// gRPC (its default) needs Disabled. Required: TLS without checking the certificate. VerifyCA: TLS with a
    /// certificate signed by a trusted CA. VerifyFull: VerifyCA plus a host name check.
    /// </summary>
    [Required]
    public TlsMode Mode { get; set; } = TlsMode.Preferred;

    /// <summary>CA certificate (PEM) to trust instead of the system's, for VerifyCA and VerifyFull.</summary>
    public SecretKeyReference? CaSecretRef { get; set; }
}

[JsonConverter(typeof(JsonStringEnumConverter<TlsMode>))]
public enum TlsMode
{
    Disabled,
    Preferred,
    Required,
    VerifyCA,
    VerifyFull,
}
