using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;
using Passbox.Operator.Api.Schema;

namespace Passbox.CrdGen;

/// <summary>Turns a C# type into a structural OpenAPI v3 schema by reflection.</summary>
internal sealed class SchemaBuilder(XmlDocs docs)
{
    private static readonly HashSet<string> CelReasons =
        ["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"];

    private readonly List<string> _problems = [];
    private readonly Stack<Type> _building = new();

    public IReadOnlyList<string> Problems => _problems;

    /// <summary>The schema of a custom resource's root type.</summary>
    public V1JSONSchemaProps BuildRoot(Type type)
    {
        var schema = BuildObject(type, type.Name);
        schema.Description = docs.Summary(type);
        if (schema.Properties is { } props)
        {
            if (props.TryGetValue("apiVersion", out var apiVersion))
            {
                apiVersion.Description ??= "Versioned schema of this object (group/version); clients use it to convert between versions.";
            }

            if (props.TryGetValue("kind", out var kind))
            {
                kind.Description ??= "The kind of this object, in CamelCase, as known to the API server.";
            }
        }

        return schema;
    }

    public static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name
        ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);

    public static IEnumerable<PropertyInfo> SerialisedProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is not { Condition: JsonIgnoreCondition.Always })
            .Where(p => p.GetCustomAttribute<JsonExtensionDataAttribute>() is null);

    private V1JSONSchemaProps BuildObject(Type type, string path)
    {
        if (_building.Contains(type))
        {
            _problems.Add($"{path}: type {type.Name} contains itself; structural schemas cannot be recursive.");
            return new V1JSONSchemaProps { Type = "object" };
        }

        _building.Push(type);
        try
        {
            var properties = new SortedDictionary<string, V1JSONSchemaProps>(StringComparer.Ordinal);
            var required = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var property in SerialisedProperties(type))
            {
                var name = JsonName(property);
                if (properties.ContainsKey(name))
                {
                    _problems.Add($"{path}: two properties serialise as '{name}'.");
                    continue;
                }

                properties[name] = BuildProperty(property, $"{path}.{name}");
                if (IsRequired(property))
                {
                    required.Add(name);
                }
            }

            var schema = new V1JSONSchemaProps
            {
                Type = "object",
                Properties = properties.Count > 0 ? properties : null,
                Required = required.Count > 0 ? required.ToList() : null,
            };
            if (SerialisedPropertiesIncludeExtensionData(type))
            {
                schema.XKubernetesPreserveUnknownFields = true;
            }

            schema.XKubernetesValidations = CelRules(type.GetCustomAttributes<CelRuleAttribute>(inherit: false), path);
            return schema;
        }
        finally
        {
            _building.Pop();
        }
    }

    private static bool SerialisedPropertiesIncludeExtensionData(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Any(p => p.GetCustomAttribute<JsonExtensionDataAttribute>() is not null);

    private static bool IsRequired(PropertyInfo property)
    {
        if (property.GetCustomAttribute<RequiredAttribute>() is not null
            || property.GetCustomAttribute<JsonRequiredAttribute>() is not null
            || property.GetCustomAttribute<RequiredMemberAttribute>() is not null)
        {
            return true;
        }

        var type = property.PropertyType;
        return type.IsValueType && Nullable.GetUnderlyingType(type) is null;
    }

    private V1JSONSchemaProps BuildProperty(PropertyInfo property, string path)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var schema = BuildType(type, path);
        schema.Description = docs.Summary(property) ?? schema.Description;
        ApplyAnnotations(property, schema, path);
        var rules = CelRules(property.GetCustomAttributes<CelRuleAttribute>(inherit: false), path);
        if (rules is not null)
        {
            schema.XKubernetesValidations = [.. schema.XKubernetesValidations ?? [], .. rules];
        }

        return schema;
    }

    private V1JSONSchemaProps BuildType(Type type, string path)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(Uri))
        {
            return new V1JSONSchemaProps { Type = "string" };
        }

        if (type == typeof(bool))
        {
            return new V1JSONSchemaProps { Type = "boolean" };
        }

        if (type == typeof(int) || type == typeof(short) || type == typeof(byte) || type == typeof(ushort))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int32" };
        }

        if (type == typeof(long) || type == typeof(uint))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int64" };
        }

        if (type == typeof(double))
        {
            return new V1JSONSchemaProps { Type = "number", Format = "double" };
        }

        if (type == typeof(float))
        {
            return new V1JSONSchemaProps { Type = "number", Format = "float" };
        }

        if (type == typeof(decimal))
        {
            return new V1JSONSchemaProps { Type = "number" };
        }

        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            return new V1JSONSchemaProps { Type = "string", Format = "date-time" };
        }

        if (type == typeof(Guid))
        {
            return new V1JSONSchemaProps { Type = "string", Format = "uuid" };
        }

        if (type == typeof(byte[]))
        {
            return new V1JSONSchemaProps { Type = "string", Format = "byte" };
        }

        if (type == typeof(TimeSpan))
        {
            _problems.Add($"{path}: TimeSpan serialises as \"00:10:00\", not as a Kubernetes duration; use a string with [SchemaFormat(\"duration\")] (e.g. \"10m\").");
            return new V1JSONSchemaProps { Type = "string" };
        }

        if (type == typeof(IntOrString))
        {
            return new V1JSONSchemaProps { XKubernetesIntOrString = true };
        }

        if (type == typeof(V1ObjectMeta))
        {
            return new V1JSONSchemaProps { Type = "object" };
        }

        if (type == typeof(V1Condition))
        {
            return ConditionSchema();
        }

        if (type.IsEnum)
        {
            return BuildEnum(type);
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            return new V1JSONSchemaProps
            {
                Type = "object",
                AdditionalProperties = BuildType(valueType, path + "[*]"),
            };
        }

        if (type != typeof(string) && ItemType(type) is { } itemType)
        {
            return new V1JSONSchemaProps { Type = "array", Items = BuildType(itemType, path + "[*]") };
        }

        if (type.IsPrimitive || type == typeof(object) || type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
        {
            _problems.Add($"{path}: type {type.FullName} has no schema mapping; use string, int, long, bool, double, DateTimeOffset, an enum, List<T>, Dictionary<string, T> or a class.");
            return new V1JSONSchemaProps { Type = "string" };
        }

        var schema = BuildObject(type, path);
        schema.Description = docs.Summary(type);
        return schema;
    }

    /// <summary>
    /// The Kubernetes condition contract (as for <c>metav1.Condition</c>): the client's model carries no
    /// validation attributes and its docs are not in our XML file, so it is spelled out here.
    /// </summary>
    private static V1JSONSchemaProps ConditionSchema() => new()
    {
        Type = "object",
        Description = "One aspect of the object's current state.",
        Properties = new SortedDictionary<string, V1JSONSchemaProps>(StringComparer.Ordinal)
        {
            ["lastTransitionTime"] = new()
            {
                Type = "string",
                Format = "date-time",
                Description = "When the status last changed from one value to another.",
            },
            ["message"] = new()
            {
                Type = "string",
                MaxLength = Passbox.Operator.Runtime.Status.Conditions.MaxMessageLength,
                Description = "Human-readable details about the last transition.",
            },
            ["observedGeneration"] = new()
            {
                Type = "integer",
                Format = "int64",
                Minimum = 0,
                Description = "The metadata.generation the condition was set for.",
            },
            ["reason"] = new()
            {
                Type = "string",
                MinLength = 1,
                MaxLength = 1024,
                Description = "Machine-readable PascalCase reason for the last transition.",
            },
            ["status"] = new()
            {
                Type = "string",
                EnumProperty = ["True", "False", "Unknown"],
                Description = "True, False or Unknown.",
            },
            ["type"] = new()
            {
                Type = "string",
                MaxLength = 316,
                Description = "The aspect this condition is about, in CamelCase, e.g. Ready.",
            },
        },
        Required = ["lastTransitionTime", "message", "reason", "status", "type"],
    };

    private V1JSONSchemaProps BuildEnum(Type type)
    {
        var names = type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .OrderBy(f => f.MetadataToken)
            .Select(f => (object)(f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name))
            .ToList();
        return new V1JSONSchemaProps { Type = "string", EnumProperty = names, Description = docs.Summary(type) };
    }

    private static Type? DictionaryValueType(Type type)
    {
        foreach (var candidate in type.GetInterfaces().Prepend(type))
        {
            if (candidate.IsGenericType)
            {
                var def = candidate.GetGenericTypeDefinition();
                if (def == typeof(IDictionary<,>) || def == typeof(IReadOnlyDictionary<,>) || def == typeof(Dictionary<,>))
                {
                    var args = candidate.GetGenericArguments();
                    return args[0] == typeof(string) ? args[1] : null;
                }
            }
        }

        return null;
    }

    private static Type? ItemType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        if (!typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        return type.GetInterfaces().Prepend(type)
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            .Select(i => i.GetGenericArguments()[0])
            .FirstOrDefault();
    }

    private void ApplyAnnotations(PropertyInfo property, V1JSONSchemaProps schema, string path)
    {
        var kind = schema.Type;
        var isMap = kind == "object" && schema.AdditionalProperties is not null;

        foreach (var attribute in property.GetCustomAttributes(inherit: true))
        {
            switch (attribute)
            {
                case RangeAttribute range when kind is "integer" or "number":
                    schema.Minimum = Convert.ToDouble(range.Minimum, CultureInfo.InvariantCulture);
                    schema.Maximum = Convert.ToDouble(range.Maximum, CultureInfo.InvariantCulture);
                    schema.ExclusiveMinimum = range.MinimumIsExclusive ? true : null;
                    schema.ExclusiveMaximum = range.MaximumIsExclusive ? true : null;
                    break;
                case StringLengthAttribute length when kind == "string":
                    schema.MaxLength = length.MaximumLength;
                    schema.MinLength = length.MinimumLength > 0 ? length.MinimumLength : null;
                    break;
                // On a map of strings, [StringLength] and [RegularExpression] are about its values (such as label values).
                case StringLengthAttribute length when isMap && schema.AdditionalProperties is V1JSONSchemaProps { Type: "string" } values:
                    values.MaxLength = length.MaximumLength;
                    values.MinLength = length.MinimumLength > 0 ? length.MinimumLength : null;
                    break;
                case RegularExpressionAttribute regex when isMap && schema.AdditionalProperties is V1JSONSchemaProps { Type: "string" } values:
                    values.Pattern = regex.Pattern;
                    break;
                case MinLengthAttribute min:
                    SetLength(schema, kind, isMap, min.Length, null, path);
                    break;
                case MaxLengthAttribute max:
                    SetLength(schema, kind, isMap, null, max.Length, path);
                    break;
                case LengthAttribute both:
                    SetLength(schema, kind, isMap, both.MinimumLength, both.MaximumLength, path);
                    break;
                case RegularExpressionAttribute regex when kind == "string":
                    schema.Pattern = regex.Pattern;
                    break;
                case SchemaFormatAttribute format:
                    schema.Format = format.Format;
                    break;
                case DefaultValueAttribute defaultValue:
                    schema.DefaultProperty = defaultValue.Value is Enum e ? EnumName(e) : defaultValue.Value;
                    break;
                case ListMapKeysAttribute listMap:
                    ApplyListMap(schema, listMap, path);
                    break;
                case RangeAttribute or StringLengthAttribute or RegularExpressionAttribute:
                    _problems.Add($"{path}: [{attribute.GetType().Name.Replace("Attribute", string.Empty, StringComparison.Ordinal)}] does not apply to a schema of type {kind ?? "int-or-string"}.");
                    break;
                default:
                    break;
            }
        }
    }

    private static string EnumName(Enum value)
    {
        var field = value.GetType().GetField(value.ToString())!;
        return field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? field.Name;
    }

    private void SetLength(V1JSONSchemaProps schema, string? kind, bool isMap, int? min, int? max, string path)
    {
        // DataAnnotations use -1 for "no limit".
        min = min is >= 0 ? min : null;
        max = max is >= 0 ? max : null;
        switch (kind)
        {
            case "string":
                schema.MinLength = min ?? schema.MinLength;
                schema.MaxLength = max ?? schema.MaxLength;
                break;
            case "array":
                schema.MinItems = min ?? schema.MinItems;
                schema.MaxItems = max ?? schema.MaxItems;
                break;
            case "object" when isMap:
                schema.MinProperties = min ?? schema.MinProperties;
                schema.MaxProperties = max ?? schema.MaxProperties;
                break;
            default:
                _problems.Add($"{path}: a length limit applies to strings, lists and maps, not to {kind}.");
                break;
        }
    }

    private void ApplyListMap(V1JSONSchemaProps schema, ListMapKeysAttribute listMap, string path)
    {
        if (schema.Type != "array" || schema.Items is not V1JSONSchemaProps { Type: "object", Properties: not null } items)
        {
            _problems.Add($"{path}: [ListMapKeys] needs a list of objects.");
            return;
        }

        foreach (var key in listMap.Keys)
        {
            if (!items.Properties.TryGetValue(key, out var keySchema))
            {
                _problems.Add($"{path}: list map key '{key}' is not a property of the items.");
            }
            else if (keySchema.Type is not ("string" or "integer" or "number" or "boolean"))
            {
                _problems.Add($"{path}: list map key '{key}' must be a scalar.");
            }
            else if (items.Required?.Contains(key) != true && keySchema.DefaultProperty is null)
            {
                _problems.Add($"{path}: list map key '{key}' must be required ([Required] or a non-nullable value type).");
            }
        }

        schema.XKubernetesListType = "map";
        schema.XKubernetesListMapKeys = [.. listMap.Keys];
    }

    private List<V1ValidationRule>? CelRules(IEnumerable<CelRuleAttribute> attributes, string path)
    {
        var rules = attributes
            .Select((a, index) => (a, index))
            .OrderBy(x => x.a.Order)
            .ThenBy(x => x.index)
            .Select(x => x.a)
            .ToList();
        if (rules.Count == 0)
        {
            return null;
        }

        foreach (var rule in rules)
        {
            if (rule.Reason is not null && !CelReasons.Contains(rule.Reason))
            {
                _problems.Add($"{path}: CEL rule reason '{rule.Reason}' is not one of {string.Join(", ", CelReasons)}.");
            }

            if (rule.OptionalOldSelf && !rule.Rule.Contains("oldSelf", StringComparison.Ordinal))
            {
                _problems.Add($"{path}: CEL rule '{rule.Rule}' sets OptionalOldSelf but never reads oldSelf; the API server refuses that.");
            }

            if (string.IsNullOrWhiteSpace(rule.Message))
            {
                _problems.Add($"{path}: CEL rule '{rule.Rule}' needs a message a person can act on.");
            }
        }

        return rules
            .Select(r => new V1ValidationRule
            {
                Rule = r.Rule,
                Message = r.Message,
                FieldPath = r.FieldPath,
                Reason = r.Reason,
                OptionalOldSelf = r.OptionalOldSelf ? true : null,
            })
            .ToList();
    }
}
