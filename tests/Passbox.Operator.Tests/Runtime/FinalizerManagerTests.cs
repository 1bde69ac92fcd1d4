using System.Net;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Runtime.Finalizers;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>What a finalizer change leaves in <see cref="OwnWrites"/>, which lives as long as the process.</summary>
public sealed class FinalizerManagerTests
{
    private const string Finalizer = "passbox.dev/in-use-protection";

    private readonly OwnWrites ownWrites = new();

    [Fact]
    public async Task Removing_the_last_finalizer_of_a_deleting_object_keeps_no_version_of_it()
    {
        // The API server removes the object with this answer; its Deleted event, which makes OwnWrites forget it, can be
        // handled before the answer is. Recorded after that, the version would stay for the life of the process.
        var deleting = Deleting(Finalizer);

        var gone = await Manager(Answer(deleting, remaining: [])).RemoveAsync(deleting, Finalizer, CancellationToken.None);

        gone.Should().NotBeNull();
        ownWrites.Count.Should().Be(0);
    }

    [Fact]
    public async Task Removing_a_finalizer_while_another_holds_the_object_records_the_version_its_echo_will_carry()
    {
        var deleting = Deleting(Finalizer, "example.com/audit-hold");

        var updated = await Manager(Answer(deleting, remaining: ["example.com/audit-hold"])).RemoveAsync(deleting, Finalizer, CancellationToken.None);

        ownWrites.IsEcho(updated!.Metadata).Should().BeTrue("the object stays, and the watch will show this very version");
    }

    [Fact]
    public async Task Adding_the_finalizer_records_the_version_its_echo_will_carry()
    {
        var fresh = Widget.Create("w1", "7");

        var updated = await Manager(Answer(fresh, remaining: [Finalizer])).AddAsync(fresh, Finalizer, CancellationToken.None);

        ownWrites.IsEcho(updated!.Metadata).Should().BeTrue();
    }

    private FinalizerManager Manager(FakeApiServer server) => new(server.CreateClient(), NullLogger<FinalizerManager>.Instance, ownWrites);

    private static Widget Deleting(params string[] finalizers)
    {
        var widget = Widget.Create("w1", "7");
        widget.Metadata.DeletionTimestamp = DateTime.UtcNow;
        widget.Metadata.Finalizers = finalizers;
        return widget;
    }

    /// <summary>The API server's answer to the patch: the object under a new version with <paramref name="remaining"/>.</summary>
    private static FakeApiServer Answer(Widget before, IList<string> remaining)
    {
        var after = KubernetesJson.Deserialize<Widget>(KubernetesJson.Serialize(before));
        after.Metadata.ResourceVersion = "8";
        after.Metadata.Finalizers = remaining;
        return new FakeApiServer(request => request.Method == HttpMethod.Patch
            ? FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(after))
            : FakeApiServer.Status(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed"));
    }
}
