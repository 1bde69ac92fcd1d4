using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// Watch events are decoded in one pass from the stream's bytes, and managedFields are skipped while decoding for
/// informers that drop them: each event must still come out as the object, bookmark or error it is, wherever the network
/// cut the stream, and a list page of any size must still decode.
/// </summary>
public sealed class InformerDecodingTests
{
    private const string ManagedFields =
        """[{"manager":"kubectl","operation":"Update","apiVersion":"test.passbox.dev/v1","time":"2026-11-27T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:size":{}}}}]""";

    private static readonly string Modified =
        """{"type":"MODIFIED","object":{"apiVersion":"test.passbox.dev/v1","kind":"Widget","metadata":{"name":"a","namespace":"ns","resourceVersion":"7","managedFields":"""
        + ManagedFields + ""","labels":{"team":"blue"}},"spec":{"size":3}}}""";

    [Fact]
    public void An_event_decodes_straight_into_its_object_without_managed_fields_unless_they_are_kept()
    {
        var dropped = Decode(Modified, keepManagedFields: false);
        var kept = Decode(Modified, keepManagedFields: true);

        dropped.Type.Should().Be("MODIFIED");
        dropped.ObjectError.Should().BeNull();
        dropped.Object!.Metadata.Name.Should().Be("a");
        dropped.Object.Metadata.ResourceVersion.Should().Be("7");
        dropped.Object.Metadata.Labels.Should().Contain("team", "blue", "the fields after managedFields are still read");
        dropped.Object.Spec!.Size.Should().Be(3);
        dropped.Object.Metadata.ManagedFields.Should().BeNull();
        kept.Object!.Metadata.ManagedFields.Should().ContainSingle().Which.Manager.Should().Be("kubectl");
    }

    [Fact]
    public void An_object_written_before_its_type_is_decoded_by_that_type()
    {
        var added = Decode("""{"object":{"metadata":{"name":"b","resourceVersion":"9"},"spec":{"size":2}},"type":"ADDED"}""");
        var bookmark = Decode("""{"object":{"kind":"Widget","metadata":{"resourceVersion":"12"}},"type":"BOOKMARK"}""");

        added.Type.Should().Be("ADDED");
        added.Object!.Spec!.Size.Should().Be(2);
        bookmark.BookmarkVersion.Should().Be("12");
        bookmark.Object.Should().BeNull();
    }

    [Fact]
    public void Bookmarks_errors_and_unknown_types_carry_what_the_informer_needs()
    {
        var bookmark = Decode("""{"type":"BOOKMARK","object":{"kind":"Widget","apiVersion":"test.passbox.dev/v1","metadata":{"resourceVersion":"25","annotations":{"k8s.io/initial-events-end":"true"}}}}""");
        var error = Decode("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 25 (40)","reason":"Expired","code":410}}""");
        var unknown = Decode("""{"type":"SOMETHING","object":{"metadata":{"name":"c"}}}""");

        bookmark.BookmarkVersion.Should().Be("25");
        error.Error!.Code.Should().Be(410);
        error.Error.Reason.Should().Be("Expired");
        unknown.Type.Should().Be("SOMETHING");
        unknown.Object.Should().BeNull();
    }

    [Fact]
    public void An_object_that_cannot_be_decoded_is_reported_with_its_type_and_a_line_that_is_not_an_event_throws()
    {
        var bad = Decode("""{"type":"ADDED","object":{"metadata":{"name":"d"},"spec":{"size":"large"}}}""");

        bad.Type.Should().Be("ADDED");
        bad.Object.Should().BeNull();
        bad.ObjectError.Should().NotBeNull();
        FluentActions.Invoking(() => Decode("[1,2]")).Should().Throw<JsonException>();
    }

    [Fact]
    public void Lines_are_taken_across_buffer_segments_and_blank_lines_are_told_apart()
    {
        // "{"a":1}\r\n\n{"b":2}" cut into three segments, the first line's break falling into the second one.
        var buffer = Segments("{\"a\":1}", "\r\n\n{\"b\"", ":2}");

        WatchLines.TryTakeLine(ref buffer, out var first).Should().BeTrue();
        Encoding.UTF8.GetString(first.ToArray()).Should().Be("{\"a\":1}\r");
        WatchLines.IsBlank(first).Should().BeFalse();
        WatchLines.TryTakeLine(ref buffer, out var empty).Should().BeTrue();
        WatchLines.IsBlank(empty).Should().BeTrue();
        WatchLines.TryTakeLine(ref buffer, out _).Should().BeFalse("the last line has no break yet");
        Encoding.UTF8.GetString(buffer.ToArray()).Should().Be("{\"b\":2}");
        WatchLines.IsBlank(Segments("\r", " \t")).Should().BeTrue();
    }

    [Fact]
    public async Task An_informer_applies_events_however_the_network_cuts_the_stream()
    {
        // \r\n breaks, a blank keep-alive line, a name with a character of several bytes, and a last event without its
        // line break, delivered three bytes at a time so that cuts fall inside events and inside that character.
        var stream = string.Join("\r\n", Modified, "", Event("ADDED", "größe", "8"), Event("DELETED", "a", "9"));
        var watched = 0;
        var server = new FakeApiServer(request =>
        {
            if (!request.IsWatch)
            {
                return FakeApiServer.Json(HttpStatusCode.OK, """{"metadata":{"resourceVersion":"5"},"items":[]}""");
            }

            return Interlocked.Increment(ref watched) == 1
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new TricklingStream(Encoding.UTF8.GetBytes(stream), 3)) }
                : FakeApiServer.Watch();
        });
        var informer = new Informer<Widget>(server.CreateClient(), ResourceDescriptor.For<Widget>(), new InformerOptions<Widget> { Namespace = "ns" }, new FakeTimeProvider(), NullLogger.Instance);
        var seen = new List<string>();
        informer.Subscribe(change => seen.Add($"{change.Type} {change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));

        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await FakeApiServer.WaitUntilAsync(() => seen.Count == 3);

        seen.Should().Equal("Added a@7", "Added größe@8", "Deleted a@9");
        informer.Cache.List().Should().ContainSingle().Which.Metadata.Name.Should().Be("größe");
        informer.LastResourceVersion.Should().Be("9");

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_list_page_larger_than_the_decoders_buffer_decodes_every_item_without_managed_fields()
    {
        // About 140 KB: decoded from a stream in blocks, so the managedFields of most items are read from a block that
        // is not the last one.
        var items = Enumerable.Range(0, 400).Select(i =>
            $$"""{"metadata":{"name":"w{{i}}","namespace":"ns","resourceVersion":"{{i + 1}}","managedFields":""" + ManagedFields + """},"spec":{"size":1}}""");
        var page = """{"metadata":{"resourceVersion":"500"},"items":[""" + string.Join(",", items) + "]}";
        var server = new FakeApiServer(request => request.IsWatch
            ? FakeApiServer.Watch()
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new TricklingStream(Encoding.UTF8.GetBytes(page), 4096)) });
        var informer = new Informer<Widget>(server.CreateClient(), ResourceDescriptor.For<Widget>(), new InformerOptions<Widget> { Namespace = "ns" }, new FakeTimeProvider(), NullLogger.Instance);

        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await FakeApiServer.WaitUntilAsync(() => informer.HasSynced);

        page.Length.Should().BeGreaterThan(100_000);
        informer.Cache.Count.Should().Be(400);
        informer.Cache.List().Should().OnlyContain(w => w.Metadata.ManagedFields == null && w.Spec!.Size == 1);

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static WatchEvent<Widget> Decode(string line, bool keepManagedFields = false) =>
        WatchLines.Decode(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(line)), WatchJson<Widget>.For(keepManagedFields));

    private static string Event(string type, string name, string resourceVersion) =>
        $$"""{"type":"{{type}}","object":{"apiVersion":"test.passbox.dev/v1","kind":"Widget","metadata":{"name":"{{name}}","namespace":"ns","resourceVersion":"{{resourceVersion}}"}""" + "}}";

    private static ReadOnlySequence<byte> Segments(params string[] parts)
    {
        var first = new Segment(Encoding.UTF8.GetBytes(parts[0]), 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(Encoding.UTF8.GetBytes(part));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    /// <summary>A response body that hands out at most a few bytes per read, as a slow network does.</summary>
    private sealed class TricklingStream(byte[] bytes, int perRead) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, perRead));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, perRead)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, perRead), cancellationToken);
    }
}
