using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Tests.Runtime;

public sealed class StatusWriterTests
{
    private const string StatusPath = "/apis/test.passbox.dev/v1/namespaces/ns/widgets/w1/status";
    private const string ItemPath = "/apis/test.passbox.dev/v1/namespaces/ns/widgets/w1";

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task An_unchanged_status_sends_no_request()
    {
        var server = new FakeApiServer(HttpResponseMessage (RecordedRequest _) => throw new InvalidOperationException("no request expected"));
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance);
        var stored = Widget.Create("w1", "7", generation: 3, status: ReadyStatus(3));

        var result = await writer.WriteAsync(stored, widget => Desired(widget, ready: true), CancellationToken.None);

        result.Should().Be(StatusWriteResult.Unchanged);
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_changed_status_is_merge_patched_with_resource_version_and_the_full_conditions_list()
    {
        var server = new FakeApiServer(request => FakeApiServer.Json(HttpStatusCode.OK, request.Body!));
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance);
        var stored = Widget.Create("w1", "7", generation: 4, status: ReadyStatus(3));

        var result = await writer.WriteAsync(stored, widget => Desired(widget, ready: false), CancellationToken.None);

        result.Should().Be(StatusWriteResult.Patched);
        var request = server.Requests.Should().ContainSingle().Subject;
        request.Method.Should().Be(HttpMethod.Patch);
        request.Path.Should().Be(StatusPath);
        request.ContentType.Should().Be("application/merge-patch+json");
        var patch = JsonNode.Parse(request.Body!)!;
        patch["metadata"]!["resourceVersion"]!.GetValue<string>().Should().Be("7");
        patch["status"]!["observedGeneration"]!.GetValue<long>().Should().Be(4);
        patch["status"]!["conditions"]!.AsArray().Select(c => c!["type"]!.GetValue<string>()).Should().Equal("Ready", "Validated");
    }

    [Fact]
    public async Task A_field_dropped_from_the_status_is_removed_with_null()
    {
        var server = new FakeApiServer(request => FakeApiServer.Json(HttpStatusCode.OK, request.Body!));
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance);
        var status = ReadyStatus(3);
        status.Phase = "Old";
        var stored = Widget.Create("w1", "7", generation: 3, status: status);

        await writer.WriteAsync(stored, widget => Desired(widget, ready: true), CancellationToken.None);

        var patch = JsonNode.Parse(server.Requests.Single().Body!)!;
        patch["status"]!.ToJsonString().Should().Be("""{"phase":null}""");
    }

    [Fact]
    public async Task A_conflict_is_retried_against_the_re_read_object()
    {
        var patches = 0;
        var fresh = Widget.Create("w1", "8", generation: 4, status: ReadyStatus(3));
        var server = new FakeApiServer(request => request.Method.Method switch
        {
            "PATCH" when Interlocked.Increment(ref patches) == 1 => FakeApiServer.Status(HttpStatusCode.Conflict, "Conflict", "the object has been modified"),
            "PATCH" => FakeApiServer.Json(HttpStatusCode.OK, request.Body!),
            "GET" when request.Path == ItemPath => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(fresh)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance, random: () => 0.5);
        var stale = Widget.Create("w1", "7", generation: 4, status: ReadyStatus(3));

        var write = writer.WriteAsync(stale, widget => Desired(widget, ready: false), CancellationToken.None);
        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count == 1);
        time.Advance(TimeSpan.FromSeconds(1));
        var result = await write.WaitAsync(TimeSpan.FromSeconds(5));

        result.Should().Be(StatusWriteResult.Patched);
        server.Requests.Select(r => r.Method.Method).Should().Equal("PATCH", "GET", "PATCH");
        JsonNode.Parse(server.Requests.Last().Body!)!["metadata"]!["resourceVersion"]!.GetValue<string>().Should().Be("8");
    }

    [Fact]
    public async Task A_conflict_whose_re_read_object_outdates_the_desired_status_writes_nothing()
    {
        // The caller worked from a copy that lagged behind an earlier write; writing its status would undo that write.
        var fresh = Widget.Create("w1", "8", generation: 4, status: ReadyStatus(4));
        var server = new FakeApiServer(request => request.Method.Method == "PATCH"
            ? FakeApiServer.Status(HttpStatusCode.Conflict, "Conflict", "the object has been modified")
            : FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(fresh)));
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance, random: () => 0.5);
        var stale = Widget.Create("w1", "7", generation: 4, status: ReadyStatus(3));

        var write = writer.WriteAsync(stale, widget => widget.Status!.ObservedGeneration == 3 ? Desired(widget, ready: false) : null, CancellationToken.None);
        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count == 1);
        time.Advance(TimeSpan.FromSeconds(1));

        (await write.WaitAsync(TimeSpan.FromSeconds(5))).Should().Be(StatusWriteResult.Outdated);
        server.Requests.Select(r => r.Method.Method).Should().Equal("PATCH", "GET");
    }

    [Fact]
    public async Task A_conflict_with_a_newer_generation_is_left_to_the_next_reconcile()
    {
        var newer = Widget.Create("w1", "9", generation: 5, status: ReadyStatus(3));
        var server = new FakeApiServer(request => request.Method.Method == "PATCH"
            ? FakeApiServer.Status(HttpStatusCode.Conflict, "Conflict")
            : FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(newer)));
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance, random: () => 0.5);

        var write = writer.WriteAsync(Widget.Create("w1", "7", generation: 4), widget => Desired(widget, ready: true), CancellationToken.None);
        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count == 1);
        time.Advance(TimeSpan.FromSeconds(1));

        (await write.WaitAsync(TimeSpan.FromSeconds(5))).Should().Be(StatusWriteResult.Superseded);
        server.Requests.Select(r => r.Method.Method).Should().Equal("PATCH", "GET");
    }

    [Fact]
    public async Task A_status_back_to_what_the_lagging_cache_holds_is_still_written_over_the_writers_own_last_write()
    {
        // The server holds whatever was last patched, at resourceVersion 8.
        JsonNode? serverStatus = null;
        var server = new FakeApiServer(request =>
        {
            if (request.Method == HttpMethod.Patch)
            {
                serverStatus = JsonNode.Parse(request.Body!)!["status"]!.DeepClone();
                return FakeApiServer.Json(HttpStatusCode.OK, """{"metadata":{"name":"w1","namespace":"ns","resourceVersion":"8"}}""");
            }

            var live = Widget.Create("w1", "8", generation: 3, status: ReadyStatus(3));
            live.Status!.Phase = serverStatus?["phase"]?.GetValue<string>();
            return FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(live));
        });
        var writer = new StatusWriter(server.CreateClient(), time, NullLogger<StatusWriter>.Instance);
        var cached = Widget.Create("w1", "7", generation: 3, status: ReadyStatus(3));

        // A Pod counted: written. Then it finishes before the watch brings the write back, so the cache still says "none".
        await writer.WriteAsync(cached, widget => WithPhase(Desired(widget, ready: true), "counted"), CancellationToken.None);
        var result = await writer.WriteAsync(cached, widget => Desired(widget, ready: true), CancellationToken.None);

        result.Should().Be(StatusWriteResult.Patched, "the server still says what the first write said");
        server.Requests.Select(r => r.Method.Method).Should().Equal("PATCH", "GET", "PATCH");
        JsonNode.Parse(server.Requests.Last().Body!)!["status"]!.ToJsonString().Should().Be("""{"phase":null}""");

        // Once the cache has caught up with the write, its agreement is trusted again: no read, no write.
        var caughtUp = Widget.Create("w1", "8", generation: 3, status: ReadyStatus(3));
        (await writer.WriteAsync(caughtUp, widget => Desired(widget, ready: true), CancellationToken.None)).Should().Be(StatusWriteResult.Unchanged);
        server.Requests.Should().HaveCount(3);
    }

    private static WidgetStatus WithPhase(WidgetStatus status, string phase)
    {
        status.Phase = phase;
        return status;
    }

    private WidgetStatus Desired(Widget widget, bool ready)
    {
        var conditions = Conditions.Copy(widget.Status?.Conditions);
        var generation = widget.Metadata.Generation;
        Conditions.Set(conditions, "Ready", ready ? Conditions.True : Conditions.False, ready ? "Validated" : "Unreachable", ready ? "ok" : "no route", generation, time);
        Conditions.Set(conditions, "Validated", ready ? Conditions.True : Conditions.False, ready ? "LoggedIn" : "Unreachable", ready ? "ok" : "no route", generation, time);
        return new WidgetStatus { ObservedGeneration = generation, Conditions = conditions };
    }

    private WidgetStatus ReadyStatus(long generation) => Desired(Widget.Create("w1", "1", generation), ready: true);
}
