namespace Passbox.Operator.Api.Schema;

/// <summary>
/// Why the DataAnnotations length attributes on the API types' lists and maps are safe in a trimmed (native AOT) build.
/// [MaxLength] and [Length] are marked RequiresUnreferencedCode because their IsValid falls back to reflection for a
/// Count property on values that are not ICollection. Here they are schema only: tools/Passbox.CrdGen turns them into
/// maxItems/maxProperties at build time, the API server enforces those, and the operator never runs DataAnnotations
/// validation (nothing calls Validator or IsValid). The annotated properties are List&lt;T&gt; or Dictionary, which are
/// ICollection anyway, so even IsValid would not need reflection.
/// </summary>
internal static class SchemaOnly
{
    public const string Justification =
        "Schema metadata for the CRD generator only; the operator never calls IsValid, and the property is an ICollection (see SchemaOnly).";
}
