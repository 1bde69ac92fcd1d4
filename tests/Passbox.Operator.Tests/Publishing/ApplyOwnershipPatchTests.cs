using System.Text.Json.Nodes;
using k8s.Models;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Tests.Publishing;

public sealed class ApplyOwnershipPatchTests
{
    private static V1Secret Created(params (string Manager, string Operation)[] entries) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "conn",
            ResourceVersion = "42",
            ManagedFields = entries.Select(e => new V1ManagedFieldsEntry { Manager = e.Manager, Operation = e.Operation, ApiVersion = "v1" }).ToList(),
        },
    };

    [Fact]
    public void The_create_entry_of_passbox_becomes_its_apply_entry_if_the_Secret_is_unchanged()
    {
        var patch = GeneratedSecretPublisher.ApplyOwnershipPatch(Created(("kube-controller-manager", "Update"), ("passbox", "Update")));

        JsonNode.Parse(patch!)!.ToJsonString().Should().Be(new JsonArray
        {
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = "42" },
            new JsonObject { ["op"] = "replace", ["path"] = "/metadata/managedFields/1/operation", ["value"] = "Apply" },
        }.ToJsonString());
    }

    [Fact]
    public void Nothing_is_handed_over_when_passbox_has_no_create_entry_or_already_applies()
    {
        GeneratedSecretPublisher.ApplyOwnershipPatch(Created(("someone", "Update"))).Should().BeNull();
        GeneratedSecretPublisher.ApplyOwnershipPatch(Created(("passbox", "Update"), ("passbox", "Apply"))).Should().BeNull();
        GeneratedSecretPublisher.ApplyOwnershipPatch(Created()).Should().BeNull();
    }
}
