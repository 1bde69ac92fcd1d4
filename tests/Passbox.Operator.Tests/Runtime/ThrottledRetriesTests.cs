using System.Net;
using System.Net.Http.Headers;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Tests.Runtime;

public sealed class ThrottledRetriesTests
{
    private const string SecretJson = """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"team-a","resourceVersion":"7"},"type":"Opaque"}""";

    private readonly PauseRecordingClock time = new();

    [Fact]
    public async Task A_status_write_the_API_server_throttles_is_sent_again_after_the_pause_it_asked_for_and_written()
    {
        // API Priority and Fairness refuses a request before handling it: 429 with Retry-After: 1. The status write went
        // through only at the reconcile's next attempt, after an error logged with a stack trace and the check run again.
        var patches = 0;
        var server = new FakeApiServer(request => Interlocked.Increment(ref patches) == 1
            ? Throttled(TimeSpan.FromSeconds(1))
            : FakeApiServer.Json(HttpStatusCode.OK, request.Body!));
        var writer = new StatusWriter(ClientOf(server, random: () => 1.0), time, NullLogger<StatusWriter>.Instance);
        var stored = Widget.Create("w1", "7", generation: 2, status: new WidgetStatus { ObservedGeneration = 1 });

        var write = writer.WriteAsync(stored, widget => new WidgetStatus { ObservedGeneration = widget.Metadata.Generation }, CancellationToken.None);
        await FakeApiServer.WaitUntilAsync(() => time.Pauses == 1);

        time.Advance(TimeSpan.FromSeconds(1.1));
        await Task.Delay(50);
        server.Requests.Should().HaveCount(1, "the pause asked for is lengthened by up to a fifth at random, so throttled requests come back apart");
        time.Advance(TimeSpan.FromSeconds(0.1));
        (await write.WaitAsync(TimeSpan.FromSeconds(5))).Should().Be(StatusWriteResult.Patched);
        server.Requests.Select(request => request.Body).Distinct().Should().ContainSingle("the same patch is sent again");
    }

    [Fact]
    public async Task A_created_Secret_is_sent_again_with_the_same_body_after_a_429()
    {
        var answers = 0;
        var api = new FakeApiServer(request => Interlocked.Increment(ref answers) == 1
            ? Throttled(null)
            : FakeApiServer.Json(HttpStatusCode.Created, SecretJson));
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new BufferedResponses(), new ThrottledRetries(time, () => 0.0), api);
        var secret = new V1Secret { Metadata = new V1ObjectMeta { Name = "db" }, StringData = new Dictionary<string, string> { ["user"] = "app" } };

        var create = client.CoreV1.CreateNamespacedSecretAsync(secret, "team-a");
        await FakeApiServer.WaitUntilAsync(() => time.Pauses == 1);
        time.Advance(ThrottledRetries.DefaultPause);

        (await create.WaitAsync(TimeSpan.FromSeconds(5))).Metadata.ResourceVersion.Should().Be("7");
        api.Requests.Should().HaveCount(2);
        api.Requests.Last().Body.Should().Be(api.Requests.First().Body).And.Contain("\"user\"");
    }

    [Fact]
    public async Task A_pause_longer_than_a_worker_should_hold_its_key_is_left_to_the_caller_at_once()
    {
        var api = new FakeApiServer(_ => Throttled(TimeSpan.FromMinutes(2)));
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new ThrottledRetries(time, () => 0.0), api);

        var read = () => client.CoreV1.ReadNamespacedSecretAsync("db", "team-a");

        (await read.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        api.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task A_server_that_keeps_throttling_gets_a_bounded_number_of_repeats_then_the_caller_sees_the_429()
    {
        var api = new FakeApiServer(_ => Throttled(TimeSpan.FromSeconds(1)));
        using var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new ThrottledRetries(time, () => 0.0), api);

        var read = client.CoreV1.ReadNamespacedSecretAsync("db", "team-a");
        for (var repeat = 1; repeat <= ThrottledRetries.MaxRetries; repeat++)
        {
            await FakeApiServer.WaitUntilAsync(() => api.Requests.Count == repeat && time.Pauses == repeat);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var outcome = async () => await read.WaitAsync(TimeSpan.FromSeconds(5));
        (await outcome.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        api.Requests.Should().HaveCount(ThrottledRetries.MaxRetries + 1);
    }

    [Fact]
    public async Task A_throttled_list_page_the_informer_reads_as_a_stream_is_handed_to_the_informer_at_once()
    {
        // The informer's loop pauses on its own 429s, reports them in its metrics and readiness, and backs off.
        var api = new FakeApiServer(_ => Throttled(TimeSpan.FromSeconds(1)));
        var client = new KubernetesApiClient(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new ThrottledRetries(time, () => 0.0), api));

        using var response = await client.SendAsync(HttpMethod.Get, "api/v1/secrets?limit=500", null, null, streaming: true, CancellationToken.None);

        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        api.Requests.Should().ContainSingle();
    }

    private KubernetesApiClient ClientOf(FakeApiServer server, Func<double> random) =>
        new(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new BufferedResponses(), new ThrottledRetries(time, random), server));

    private static HttpResponseMessage Throttled(TimeSpan? retryAfter)
    {
        var response = FakeApiServer.Status(HttpStatusCode.TooManyRequests, "TooManyRequests", "Too many requests, please try again later.");
        if (retryAfter is { } pause)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(pause);
        }

        return response;
    }

    /// <summary>
    /// A fake clock that counts the pauses asked of it. Time is moved on only once the handler waits: a request the fake
    /// server has recorded is not yet a pause started, and time moved in between would not count for it.
    /// </summary>
    private sealed class PauseRecordingClock() : FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
        private int pauses;

        public int Pauses => Volatile.Read(ref pauses);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref pauses);
            return timer;
        }
    }
}
