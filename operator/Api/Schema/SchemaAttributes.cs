namespace Passbox.Operator.Api.Schema;

/// <summary>
/// Marks a type as the root of a custom resource and carries what the CRD needs beyond the
/// <see cref="k8s.Models.KubernetesEntityAttribute"/> (scope, short names, categories).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CustomResourceAttribute : Attribute
{
    public string[] ShortNames { get; init; } = [];

    public string[] Categories { get; init; } = [];

    public bool Namespaced { get; init; } = true;
}

/// <summary>An <c>additionalPrinterColumns</c> entry shown by <c>kubectl get</c>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PrinterColumnAttribute(string name, string jsonPath, string type = "string") : Attribute
{
    public string Name { get; } = name;

    public string JsonPath { get; } = jsonPath;

    public string Type { get; } = type;

    public int Priority { get; init; }

    public string? Description { get; init; }

    /// <summary>Position among the columns; columns are emitted in ascending order.</summary>
    public int Order { get; init; }
}

/// <summary>
/// A CEL rule (<c>x-kubernetes-validations</c>) on the schema of the annotated type or property.
/// <c>self</c> is the annotated value; rules that use <c>oldSelf</c> are transition rules.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true, Inherited = false)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;

    public string Message { get; } = message;

    /// <summary>Optional path relative to <c>self</c> that the error is reported at, e.g. <c>.port</c>.</summary>
    public string? FieldPath { get; init; }

    /// <summary>Optional reason: FieldValueInvalid (default), FieldValueForbidden, FieldValueRequired, FieldValueDuplicate.</summary>
    public string? Reason { get; init; }

    /// <summary>Position among the rules of one schema; rules are emitted in ascending order.</summary>
    public int Order { get; init; }

    /// <summary>
    /// Also evaluate the rule on create, where <c>oldSelf</c> is an empty optional (<c>optionalOldSelf</c>):
    /// <c>oldSelf.hasValue() || ...</c> then checks only new objects, so objects stored before the rule existed stay
    /// updatable (a finalizer can still be removed).
    /// </summary>
    public bool OptionalOldSelf { get; init; }
}

/// <summary>
/// A list whose items are objects keyed on the named fields (<c>x-kubernetes-list-type: map</c>),
/// so server-side apply and merge logic treat it like Kubernetes conditions.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class ListMapKeysAttribute(params string[] keys) : Attribute
{
    public IReadOnlyList<string> Keys { get; } = keys;
}

/// <summary>An OpenAPI <c>format</c> such as <c>date-time</c> or <c>duration</c>.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class SchemaFormatAttribute(string format) : Attribute
{
    public string Format { get; } = format;
}

/// <summary>
/// Marks the property that holds the status subresource (and excludes it from <c>spec</c> rules).
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class StatusSubresourceAttribute : Attribute;
