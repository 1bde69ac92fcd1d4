using k8s.Models;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A CRD of the runtime's own (group test.passbox.dev) with a status subresource, so runtime tests do
/// not depend on the operator's API types.
/// </summary>
public static class ControlPlaneTestCrd
{
    public const string Group = "test.passbox.dev";
    public const string Version = "v1";
    public const string Plural = "widgets";
    public const string Kind = "Widget";

    public static V1CustomResourceDefinition Widgets() => Build(Group, Plural, Kind);

    /// <summary>A CRD with a fresh name, for tests that need a just-created resource type; namespaced unless <paramref name="namespaced"/> is false.</summary>
    public static V1CustomResourceDefinition Build(string group, string plural, string kind, string version = Version, bool namespaced = true) => new()
    {
        ApiVersion = "apiextensions.k8s.io/v1",
        Kind = "CustomResourceDefinition",
        Metadata = new V1ObjectMeta { Name = $"{plural}.{group}" },
        Spec = new V1CustomResourceDefinitionSpec
        {
            Group = group,
            Scope = namespaced ? "Namespaced" : "Cluster",
            Names = new V1CustomResourceDefinitionNames { Plural = plural, Singular = kind.ToLowerInvariant(), Kind = kind, ListKind = kind + "List" },
            Versions =
            [
                new V1CustomResourceDefinitionVersion
                {
                    Name = version,
                    Served = true,
                    Storage = true,
                    Subresources = new V1CustomResourceSubresources { Status = new object() },
                    Schema = new V1CustomResourceValidation
                    {
                        OpenAPIV3Schema = new V1JSONSchemaProps
                        {
                            Type = "object",
                            Properties = new Dictionary<string, V1JSONSchemaProps>
                            {
                                ["spec"] = new() { Type = "object", XKubernetesPreserveUnknownFields = true },
                                ["status"] = new() { Type = "object", XKubernetesPreserveUnknownFields = true },
                            },
                        },
                    },
                },
            ],
        },
    };
}
