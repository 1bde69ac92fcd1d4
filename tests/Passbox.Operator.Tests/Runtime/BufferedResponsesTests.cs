using System.Net;
using System.Text;
using k8s;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Tests.Runtime;

public sealed class BufferedResponsesTests
{
    private const string SecretJson = """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"team-a","resourceVersion":"7"},"type":"Opaque"}""";

    [Fact]
    public async Task A_typed_call_gets_its_answer_without_a_blocking_read_of_the_body()
    {
        // KubernetesClient decodes a typed answer with a synchronous read of the body; the body below fails such a
        // read unless it was waited for asynchronously first, where a thread would otherwise block on the network.
        var body = new LateBody(SecretJson);
        using var server = new FakeApiServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = body.AsContent() });
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new BufferedResponses(), server);

        var secret = await client.CoreV1.ReadNamespacedSecretAsync("db", "team-a");

        secret.Metadata.ResourceVersion.Should().Be("7");
    }

    [Fact]
    public async Task A_request_the_informer_reads_as_a_stream_is_handed_over_with_its_body_still_unread()
    {
        // A list page has no watch=true to go by: only the informer's mark keeps it from being buffered, where it
        // would sit in arrays the shared pool keeps (stop 16 of the benchmarks).
        var body = new LateBody("""{"kind":"SecretList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[]}""");
        using var server = new FakeApiServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = body.AsContent() });
        var api = new KubernetesApiClient(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new BufferedResponses(), server));

        using var response = await api.SendAsync(HttpMethod.Get, "api/v1/secrets?limit=500", null, null, streaming: true, CancellationToken.None);

        body.Waited.Should().BeFalse("the informer reads a list page from the stream itself, not after it was buffered");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        (await reader.ReadToEndAsync()).Should().Contain("SecretList");
    }

    [Fact]
    public async Task A_typed_watch_asked_for_in_the_query_is_handed_over_with_its_events_still_unread()
    {
        // KubernetesClient's typed watches carry no mark of ours, only watch=true in their query.
        var body = new LateBody("""{"type":"ADDED","object":""" + SecretJson + "}\n");
        using var server = new FakeApiServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = body.AsContent() });
        using var invoker = new HttpMessageInvoker(new BufferedResponses { InnerHandler = server });

        using var response = await invoker.SendAsync(
            new HttpRequestMessage(HttpMethod.Get, "http://api.test/api/v1/namespaces/team-a/secrets?resourceVersion=5&watch=true"), CancellationToken.None);

        body.Waited.Should().BeFalse("a watch's events are read as they come, not buffered before");
    }

    /// <summary>
    /// A response body that arrives only while someone waits for it asynchronously, as bytes come from a socket. A
    /// synchronous read before that would block a thread until they come; this body fails it instead.
    /// </summary>
    private sealed class LateBody(string text) : Stream
    {
        private readonly MemoryStream data = new(Encoding.UTF8.GetBytes(text));
        private volatile bool waited;

        /// <summary>True once a reader waited for the body asynchronously (and so it arrived).</summary>
        public bool Waited => waited;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public StreamContent AsContent()
        {
            var content = new StreamContent(this);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            return content;
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            waited
                ? data.Read(buffer, offset, count)
                : throw new InvalidOperationException("The body was read synchronously before it arrived: a thread would block here.");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            waited = true;
            await Task.Yield();
            return data.Read(buffer.Span);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
