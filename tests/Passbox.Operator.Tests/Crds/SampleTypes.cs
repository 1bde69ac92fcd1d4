using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.Schema;

namespace Passbox.Operator.Tests.Crds;

// Sample custom resources for the generator tests. They live in the test assembly, which nothing
// scans as a whole: each test generates the one type it is about.

/// <summary>
/// A widget   for testing the generator.
/// It is configured by <see cref="WidgetSpec"/>, read with <c>kubectl explain widget</c>.
/// <para>Second paragraph: a colon, a # hash and 'quotes'.</para>
/// </summary>
/// <remarks>Remarks are not part of the description.</remarks>
[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "Widget", PluralName = "widgets")]
[CustomResource(ShortNames = ["wdg", "wd"], Categories = ["samples"])]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date", Order = 9)]
[PrinterColumn("Engine", ".spec.engine", Order = 0)]
[PrinterColumn("Ready", ".status.conditions[?(@.type==\"Ready\")].status", Order = 1)]
[PrinterColumn("Replicas", ".spec.replicas", "integer", Order = 1, Priority = 1, Description = "Desired copies.")]
public sealed class Widget : IKubernetesObject<V1ObjectMeta>, ISpec<WidgetSpec>, IStatus<WidgetStatus?>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "test.passbox.dev/v1alpha1";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "Widget";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>What the widget should be.</summary>
    [JsonPropertyName("spec")]
    [Required]
    public WidgetSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public WidgetStatus? Status { get; set; }
}

/// <summary>The desired state of a <see cref="Widget"/>.</summary>
[CelRule("self.engine != 'Milvus' || !has(self.tls)", "Milvus widgets have no TLS settings", FieldPath = ".tls", Order = 2)]
[CelRule("has(self.port) || self.engine == 'OceanBase'", "port is required unless engine is OceanBase", Reason = "FieldValueRequired", Order = 1)]
public sealed class WidgetSpec
{
    /// <summary>Which engine the widget talks to.</summary>
    [CelRule("self == oldSelf", "engine is immutable")]
    public WidgetEngine Engine { get; set; }

    /// <summary>Host name or address.</summary>
    [Required]
    [StringLength(253, MinimumLength = 1)]
    public string Host { get; set; } = "";

    /// <summary>TCP port; the engine's default when omitted.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>How many copies to run.</summary>
    [Range(0, 10)]
    public int Replicas { get; set; }

    /// <summary>A DNS label.</summary>
    [RegularExpression("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    [MaxLength(63)]
    public string? Name { get; set; }

    /// <summary>Free-form tags.</summary>
    [MinLength(1)]
    [MaxLength(5)]
    public List<string>? Tags { get; set; }

    /// <summary>Labels put on what the widget creates.</summary>
    [MaxLength(20)]
    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>How often to check, as a duration such as <c>10m</c>.</summary>
    [SchemaFormat("duration")]
    public string? Interval { get; set; }

    public WidgetTls? Tls { get; set; }

    [JsonPropertyName("display_mode")]
    public DisplayMode? Mode { get; set; }
}

/// <summary>TLS settings.</summary>
/// <param name="Mode">How strictly to verify the server.</param>
/// <param name="CaSecret">Secret holding the CA bundle.</param>
public sealed record WidgetTls(TlsMode Mode, string? CaSecret);

/// <summary>The engines a widget can talk to.</summary>
public enum WidgetEngine
{
    OceanBase,
    MySQL,
    Milvus,
}

public enum TlsMode
{
    Disabled,
    Required,
    VerifyFull,
}

/// <summary>How the widget is shown.</summary>
public enum DisplayMode
{
    [JsonStringEnumMemberName("compact")]
    Compact,

    [JsonStringEnumMemberName("full")]
    Full,
}

/// <summary>What the operator last saw.</summary>
public sealed class WidgetStatus
{
    /// <summary>The generation the status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>When the widget was last checked.</summary>
    public DateTimeOffset? LastValidated { get; set; }

    /// <summary>Latest observations, one per <c>type</c>.</summary>
    [ListMapKeys("type")]
    public List<WidgetCondition>? Conditions { get; set; }
}

public sealed class WidgetCondition
{
    [Required]
    public string Type { get; set; } = "";

    [Required]
    public string Status { get; set; } = "";

    public string? Message { get; set; }
}

/// <summary>A resource without status, cluster scoped, with its status elsewhere.</summary>
[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "Gadget", PluralName = "gadgets")]
[CustomResource(Namespaced = false)]
public sealed class Gadget
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public V1ObjectMeta? Metadata { get; set; }

    public GadgetSpec? Spec { get; set; }

    [StatusSubresource]
    public GadgetSpec? Observed { get; set; }
}

public sealed class GadgetSpec
{
    /// <summary>
    /// Spread over
    ///     several   lines
    /// in the source.
    /// </summary>
    public bool? Enabled { get; set; }

    [ListMapKeys("type")]
    [MaxLength(8)]
    public List<V1Condition>? Conditions { get; set; }
}

// Types the generator must refuse, each with the mistake its name says.

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "UnboundedRule", PluralName = "unboundedrules")]
[CustomResource]
public sealed class UnboundedRule
{
    public UnboundedRuleSpec? Spec { get; set; }
}

[CelRule("self.name.startsWith(self.prefix)", "name must start with the prefix")]
[CelRule("!has(self.notes) || self.size > 0", "notes need a size")]
public sealed class UnboundedRuleSpec
{
    [MaxLength(10)]
    public string? Name { get; set; }

    public string? Prefix { get; set; }

    public string? Notes { get; set; }

    public int? Size { get; set; }
}

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "RuleInList", PluralName = "ruleinlists")]
[CustomResource]
public sealed class RuleInList
{
    public List<RuleInListItem>? Items { get; set; }
}

[CelRule("has(self.a) != has(self.b)", "exactly one of a and b")]
public sealed class RuleInListItem
{
    public int? A { get; set; }

    public int? B { get; set; }
}

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "Misnamed", PluralName = "misnameds")]
[CustomResource]
[CelRule("self.colour == 'red'", "only red")]
public sealed class Misnamed
{
    [MaxLength(10)]
    public string? Color { get; set; }
}

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "Mistyped", PluralName = "mistypeds")]
[CustomResource]
public sealed class Mistyped
{
    public TimeSpan? Interval { get; set; }

    [ListMapKeys("name")]
    public List<WidgetCondition>? Conditions { get; set; }

    [Range(1, 2)]
    public string? Text { get; set; }

    [CelRule("true", "fine", Reason = "Because")]
    public int? Number { get; set; }
}

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "Bare", PluralName = "bares")]
[CustomResource]
public sealed class Bare
{
    public string? Note { get; set; }
}

/// <summary>A resource whose short names are checked on create, at the root.</summary>
[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "ShortName", PluralName = "shortnames")]
[CustomResource]
[CelRule("oldSelf.hasValue() || size(self.metadata.name) <= 63", "metadata.name must be at most 63 characters", OptionalOldSelf = true)]
public sealed class ShortName
{
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>Free text; unbounded, which a rule that read the whole object would trip over.</summary>
    public string? Notes { get; set; }
}

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "NeedlessOldSelf", PluralName = "needlessoldselves")]
[CustomResource]
[CelRule("size(self.metadata.name) <= 63", "metadata.name must be at most 63 characters", OptionalOldSelf = true)]
public sealed class NeedlessOldSelf
{
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();
}

// Maps whose keys a rule checks: the keys cost nothing (the API server gives them no size), the values do.

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "MapKeys", PluralName = "mapkeys")]
[CustomResource]
public sealed class MapKeys
{
    public MapKeysSpec? Spec { get; set; }
}

public sealed class MapKeysSpec
{
    /// <summary>Keys checked by a rule, values by maxLength and pattern.</summary>
    [MaxLength(8)]
    [StringLength(63)]
    [RegularExpression("^[a-z]*$")]
    [CelRule("self.all(k, k.startsWith('x-'))", "keys start with x-")]
    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>Free-text values; only the keys are read.</summary>
    [MaxLength(8)]
    [CelRule("self.exists(k, k == 'owner')", "an owner key is required")]
    public Dictionary<string, string>? Notes { get; set; }
}

[KubernetesEntity(Group = "test.passbox.dev", ApiVersion = "v1alpha1", Kind = "MapValues", PluralName = "mapvalues")]
[CustomResource]
public sealed class MapValues
{
    public MapValuesSpec? Spec { get; set; }
}

public sealed class MapValuesSpec
{
    /// <summary>A rule that reads the unbounded values as well as the keys.</summary>
    [MaxLength(8)]
    [CelRule("self.all(k, self[k].startsWith('x-'))", "values start with x-")]
    public Dictionary<string, string>? Notes { get; set; }
}
