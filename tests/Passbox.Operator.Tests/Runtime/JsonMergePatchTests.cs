using System.Text.Json.Nodes;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Tests.Runtime;

public sealed class JsonMergePatchTests
{
    [Fact]
    public void Equal_documents_need_no_patch_whatever_the_member_order()
    {
        JsonMergePatch.TryCreate(JsonNode.Parse("""{"a":1,"b":{"c":[1,2]}}"""), JsonNode.Parse("""{"b":{"c":[1,2]},"a":1}"""), out _).Should().BeFalse();
    }

    [Fact]
    public void Only_changed_members_are_sent_and_removed_members_become_null()
    {
        JsonMergePatch.TryCreate(
            JsonNode.Parse("""{"keep":1,"change":{"x":1,"y":2},"drop":"gone"}"""),
            JsonNode.Parse("""{"keep":1,"change":{"x":1,"y":3},"add":true}"""),
            out var patch).Should().BeTrue();

        patch!.ToJsonString().Should().Be("""{"change":{"y":3},"add":true,"drop":null}""");
    }

    [Fact]
    public void Arrays_are_replaced_whole()
    {
        JsonMergePatch.TryCreate(
            JsonNode.Parse("""{"conditions":[{"type":"A","status":"True"},{"type":"B","status":"True"}]}"""),
            JsonNode.Parse("""{"conditions":[{"type":"A","status":"True"},{"type":"B","status":"False"}]}"""),
            out var patch).Should().BeTrue();

        patch!["conditions"]!.AsArray().Should().HaveCount(2);
    }

    [Fact]
    public void A_missing_original_yields_the_whole_target()
    {
        JsonMergePatch.TryCreate(null, JsonNode.Parse("""{"a":1}"""), out var patch).Should().BeTrue();
        patch!.ToJsonString().Should().Be("""{"a":1}""");
    }
}
