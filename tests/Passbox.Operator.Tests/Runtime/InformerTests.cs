using System.Net;
using k8s;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Health;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

public sealed class InformerTests
{
    private static readonly ResourceDescriptor Widgets = ResourceDescriptor.For<Widget>();

    private readonly FakeTimeProvider time = new();

    [Fact]
    public async Task It_honours_429_resumes_from_bookmarks_and_re_lists_after_410_reporting_only_real_changes()
    {
        var endWatch = new TaskCompletionSource();
        var calls = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    return FakeApiServer.Json(HttpStatusCode.TooManyRequests, """{"kind":"Status","code":429,"message":"storage is (re)initializing","details":{"retryAfterSeconds":1}}""", r => r.Headers.Add("Retry-After", "1"));
                case 2:
                    return List("20", Widget.Create("a", "10"), Widget.Create("b", "11"));
                case 3:
                    return FakeApiServer.Watch(Event("MODIFIED", Widget.Create("a", "21")), Bookmark("25"));
                case 4:
                    return FakeApiServer.Watch("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 25 (40)","reason":"Expired","code":410}}""");
                case 5:
                    return List("31", Widget.Create("a", "21"), Widget.Create("c", "30"));
                default:
                    await endWatch.Task;
                    return FakeApiServer.Watch();
            }
        });
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Namespace = "ns", WatchTimeout = TimeSpan.FromSeconds(10) }, time, NullLogger.Instance);
        var seen = new List<string>();
        informer.Subscribe(change => seen.Add($"{change.Type} {change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));

        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await FakeApiServer.WaitUntilAsync(() => !server.Requests.IsEmpty);
        informer.HasSynced.Should().BeFalse();
        time.Advance(TimeSpan.FromSeconds(1.2)); // the pause asked for, lengthened by up to a fifth at random
        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count >= 6);

        seen.Should().Equal("Added a@10", "Added b@11", "Updated a@21", "Added c@30", "Deleted b@11");
        informer.HasSynced.Should().BeTrue();
        informer.Cache.List().Select(w => w.Metadata.Name).Should().BeEquivalentTo(["a", "c"]);
        informer.LastResourceVersion.Should().Be("31");

        var requests = server.Requests.ToList();
        requests[0].Should().Match<RecordedRequest>(r => !r.IsWatch && r.Path == "/apis/test.passbox.dev/v1/namespaces/ns/widgets");
        requests[1].Query.Should().Contain("limit=500");
        requests[2].Query.Should().Contain("watch=true").And.Contain("allowWatchBookmarks=true").And.Contain("resourceVersion=20");
        var timeoutSeconds = int.Parse(requests[2].Query.Split("timeoutSeconds=")[1].Split('&')[0], System.Globalization.CultureInfo.InvariantCulture);
        timeoutSeconds.Should().BeInRange(10, 20);
        requests[3].Query.Should().Contain("resourceVersion=25", "the bookmark moved the resume point");
        requests[4].IsWatch.Should().BeFalse("410 leads to a fresh list");
        requests[4].Query.Should().NotContain("resourceVersion");
        requests[5].Query.Should().Contain("resourceVersion=31");

        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_server_that_keeps_answering_429_gets_ever_longer_pauses_not_a_request_each_second()
    {
        // API Priority and Fairness answers an overloaded server's requests 429 with Retry-After: 1. Every informer came
        // back each second, all of them at the same moment, for as long as the overload lasted.
        var server = new FakeApiServer(_ => FakeApiServer.Json(
            HttpStatusCode.TooManyRequests, """{"kind":"Status","code":429,"reason":"TooManyRequests","message":"too many requests"}""", r => r.Headers.Add("Retry-After", "1")));
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Namespace = "ns" }, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count == 1);
        for (var second = 0; second < 120; second++)
        {
            await Task.Delay(5);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        await Task.Delay(50);
        server.Requests.Count.Should().BeInRange(5, 15, "the pauses grow from the 1 s asked for up to the reconnect backoff's 30 s");
        informer.HasSynced.Should().BeFalse();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Readiness_says_so_when_the_watch_keeps_failing_after_the_first_list_and_recovers_with_it()
    {
        // A role that lost watch (or a conversion webhook that is down) refuses every watch after the first list: the cache
        // stays as it was while reconciles go on acting on it. Readiness said Ready all along.
        var refusing = true;
        var openWatch = new System.IO.Pipelines.Pipe();
        var calls = 0;
        var server = new FakeApiServer(request =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return List("20", Widget.Create("a", "10"));
            }

            if (Volatile.Read(ref refusing))
            {
                return FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "widgets is forbidden: User passbox cannot watch resource widgets");
            }

            // Accepted, and open until the test ends: no event, as on a quiet cluster.
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(openWatch.Reader.AsStream()) };
        });
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Namespace = "ns" }, time, NullLogger.Instance);
        var readiness = new RuntimeReadinessCheck(
            [informer],
            new LeaderElectionRunner(server.CreateClient().Typed, new LeaderElectionOptions { Enabled = false }, time, NullLogger<LeaderElectionRunner>.Instance));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        try
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Any(r => r.IsWatch));
            (await readiness.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy, "one refused watch is no outage yet");

            // The watch is retried with backoff (up to 30 s) for a minute: still refused.
            await AdvanceUntilAsync(() => informer.WatchProblem is not null, TimeSpan.FromMinutes(2));
            var failing = await readiness.CheckHealthAsync(new HealthCheckContext());
            failing.Status.Should().Be(HealthStatus.Unhealthy);
            failing.Description.Should().Contain("widgets").And.Contain("watching").And.Contain("403").And.Contain("cannot watch resource");

            // The role is mended: the next watch gets through, and the cache follows the server again.
            Volatile.Write(ref refusing, false);
            await AdvanceUntilAsync(() => informer.WatchProblem is null, TimeSpan.FromMinutes(1));
            (await readiness.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy);
        }
        finally
        {
            await stop.CancelAsync();
            await openWatch.Writer.CompleteAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task Readiness_reports_a_watch_that_is_accepted_but_always_ends_with_an_error_event()
    {
        // The server accepts every watch, then ends it with an ERROR event (a stored object the conversion webhook cannot
        // convert): the cache no longer follows the server. Being accepted reset the staleness clock, so readiness never
        // said so.
        var calls = 0;
        var server = new FakeApiServer(request => Interlocked.Increment(ref calls) == 1
            ? List("20", Widget.Create("a", "10"))
            : FakeApiServer.Watch("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"conversion webhook for test.passbox.dev/v2, Kind=Widget failed","reason":"InternalError","code":500}}"""));
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Namespace = "ns" }, time, NullLogger.Instance);
        var readiness = new RuntimeReadinessCheck(
            [informer],
            new LeaderElectionRunner(server.CreateClient().Typed, new LeaderElectionOptions { Enabled = false }, time, NullLogger<LeaderElectionRunner>.Instance));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        try
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Any(r => r.IsWatch));

            // 50 ms of real time per second of the fake clock: a watch open 5 s without an error counts as following, so
            // the ERROR of each accepted watch must be handled before the fake clock passes 5 s, also on a loaded machine.
            await AdvanceUntilAsync(() => informer.WatchProblem is not null, TimeSpan.FromMinutes(2), realPause: TimeSpan.FromMilliseconds(50));
            var failing = await readiness.CheckHealthAsync(new HealthCheckContext());
            failing.Status.Should().Be(HealthStatus.Unhealthy);
            failing.Description.Should().Contain("widgets").And.Contain("watching").And.Contain("500");
            server.Requests.Count(r => r.IsWatch).Should().BeGreaterThan(2, "the watch was accepted again and again meanwhile");
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>Moves the fake clock a second at a time, letting the informer's retries run, until the condition holds.</summary>
    private async Task AdvanceUntilAsync(Func<bool> condition, TimeSpan limit, TimeSpan? realPause = null)
    {
        for (var advanced = TimeSpan.Zero; !condition() && advanced < limit; advanced += TimeSpan.FromSeconds(1))
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(realPause ?? TimeSpan.FromMilliseconds(5));
        }

        condition().Should().BeTrue();
    }

    [Fact]
    public async Task Lists_follow_continue_tokens_before_syncing()
    {
        var endWatch = new TaskCompletionSource();
        var server = TwoPages(endWatch);
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { PageSize = 1 }, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        informer.Cache.Count.Should().Be(2);
        server.Requests.First().Path.Should().Be("/apis/test.passbox.dev/v1/widgets", "no namespace means all namespaces");
        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Lists_reduce_each_page_before_asking_for_the_next()
    {
        var endWatch = new TaskCompletionSource();
        var server = TwoPages(endWatch);
        var requestsWhenReduced = new Dictionary<string, int>();
        var options = new InformerOptions<Widget>
        {
            PageSize = 1,
            Transform = widget =>
            {
                requestsWhenReduced[widget.Metadata.Name] = server.Requests.Count;
                return widget;
            },
        };
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, options, time, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        // Full objects of a big list never pile up: the first page is reduced before the second is fetched.
        requestsWhenReduced.Should().Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 });
        informer.Cache.Count.Should().Be(2);
        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Metadata_only_informers_ask_for_partial_object_metadata_and_apply_transform_and_indexes()
    {
        var endWatch = new TaskCompletionSource();
        var server = new FakeApiServer(async request =>
        {
            if (request.IsWatch)
            {
                await endWatch.Task;
                return FakeApiServer.Watch();
            }

            return FakeApiServer.Json(HttpStatusCode.OK, """
                {"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"9"},
                 "items":[{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"s1","namespace":"ns","resourceVersion":"3","labels":{"team":"a"},"managedFields":[{"manager":"kubectl"}]}}]}
                """);
        });
        var informer = new Informer<PartialObjectMetadata>(
            server.CreateClient(),
            ResourceDescriptor.Secrets,
            new InformerOptions<PartialObjectMetadata>
            {
                MetadataOnly = true,
                LabelSelector = "team=a",
                Transform = item =>
                {
                    item.Metadata.Annotations = new Dictionary<string, string> { ["seen"] = "yes" };
                    return item;
                },
            },
            time,
            NullLogger.Instance);
        informer.Cache.AddIndex("team", item => item.Metadata.Labels?.Values ?? []);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count >= 2);

        var requests = server.Requests.ToList();
        requests[0].Path.Should().Be("/api/v1/secrets");
        requests[0].Accept.Replace(" ", "", StringComparison.Ordinal).Should().Contain("as=PartialObjectMetadataList;g=meta.k8s.io;v=v1");
        requests[0].Query.Should().Contain("labelSelector=team%3Da");
        requests[1].Accept.Replace(" ", "", StringComparison.Ordinal).Should().Contain("as=PartialObjectMetadata;g=meta.k8s.io;v=v1").And.NotContain("PartialObjectMetadataList");
        var cached = informer.Cache.ByIndex("team", "a").Should().ContainSingle().Subject;
        cached.Metadata.Annotations.Should().ContainKey("seen");
        cached.Metadata.ManagedFields.Should().BeNull();

        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Objects_the_keep_filter_rejects_are_reported_but_not_held()
    {
        var endWatch = new TaskCompletionSource();
        var calls = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    return List("11", Widget.Create("a", "10"), Widget.Create("b", "11"));
                case 2:
                    return FakeApiServer.Watch(
                        Event("MODIFIED", Widget.Create("b", "12")),
                        Event("MODIFIED", Widget.Create("b", "13")),
                        Event("MODIFIED", Widget.Create("b", "14")),
                        Event("MODIFIED", Widget.Create("a", "15")),
                        Event("DELETED", Widget.Create("c", "16")));
                default:
                    await endWatch.Task;
                    return FakeApiServer.Watch();
            }
        });

        // b is of no interest until its version 13 (say, a credential started to read it); a stops mattering at 15.
        string[] rejected = ["b@11", "b@12", "a@15"];
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget>
        {
            Keep = w => !rejected.Contains($"{w.Metadata.Name}@{w.Metadata.ResourceVersion}"),
        }, time, NullLogger.Instance);
        var seen = new List<string>();
        informer.Subscribe(change => seen.Add($"{change.Type} {change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));

        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await FakeApiServer.WaitUntilAsync(() => seen.Count >= 7);

        seen.Should().Equal("Added a@10", "Added b@11", "Added b@12", "Added b@13", "Updated b@14", "Updated a@15", "Deleted c@16");
        informer.Cache.List().Select(w => $"{w.Metadata.Name}@{w.Metadata.ResourceVersion}").Should().Equal("b@14");

        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Reconsider_drops_what_the_keep_filter_no_longer_wants_without_waiting_for_its_next_change()
    {
        var endWatch = new TaskCompletionSource();
        var server = new FakeApiServer(async request =>
        {
            if (!request.IsWatch)
            {
                return List("11", Widget.Create("a", "10"), Widget.Create("b", "11"));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var wanted = new HashSet<string> { "a", "b", "c" };
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget>
        {
            Keep = w => wanted.Contains(w.Metadata.Name),
        }, time, NullLogger.Instance);
        var seen = new List<string>();
        informer.Subscribe(change => seen.Add($"{change.Type} {change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        informer.Cache.TryAddProvisional(Widget.Create("c", "5")).Should().BeTrue();

        // The last reader of a and c went; b is still read.
        wanted.Remove("a");
        wanted.Remove("c");
        informer.Reconsider(new ObjectKey("ns", "a"));
        informer.Reconsider(new ObjectKey("ns", "b"));
        informer.Reconsider(new ObjectKey("ns", "c"));
        informer.Reconsider(new ObjectKey("ns", "unknown"));

        informer.Cache.List().Select(w => w.Metadata.Name).Should().Equal("b");
        seen.Should().Equal("Added a@10", "Added b@11", "Deleted a@10", "Deleted c@5");

        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_provisional_object_never_hides_the_watch_event_it_came_from()
    {
        var startWatch = new TaskCompletionSource();
        var endWatch = new TaskCompletionSource();
        var calls = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    return List("10");
                case 2:
                    await startWatch.Task;
                    return FakeApiServer.Watch(Event("MODIFIED", Widget.Create("b", "12")), Event("DELETED", Widget.Create("c", "13")));
                default:
                    await endWatch.Task;
                    return FakeApiServer.Watch();
            }
        });
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget>(), time, NullLogger.Instance);
        var seen = new List<string>();
        informer.Subscribe(change => seen.Add($"{change.Type} {change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None);

        // A fresh read found b@12 and c@11 before the watch brought b's change and c's deletion.
        informer.Cache.TryAddProvisional(Widget.Create("b", "12")).Should().BeTrue();
        informer.Cache.TryAddProvisional(Widget.Create("c", "11")).Should().BeTrue();
        informer.Cache.TryAddProvisional(Widget.Create("b", "9")).Should().BeFalse("an object is held under that key already");
        startWatch.SetResult();
        await FakeApiServer.WaitUntilAsync(() => seen.Count >= 2);

        seen.Should().Equal("Added b@12", "Deleted c@13");
        informer.Cache.List().Select(w => $"{w.Metadata.Name}@{w.Metadata.ResourceVersion}").Should().Equal("b@12");
        informer.Cache.RemoveProvisional(new ObjectKey("ns", "b")).Should().BeFalse("the watch has reported b");
        informer.Cache.Count.Should().Be(1);

        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("ERROR event")]
    [InlineData("HTTP 410")]
    public async Task A_watch_that_is_gone_after_every_list_relists_with_growing_delays_not_in_a_tight_loop(string form)
    {
        // After an etcd compaction storm or behind a misbehaving proxy, every watch from a fresh list may answer 410 at once.
        // Each full (paged) list costs the API server; they must back off, not follow one another as fast as they run.
        var clock = new DelayRecordingClock();
        var server = new FakeApiServer(request => !request.IsWatch
            ? List("20", Widget.Create("a", "10"))
            : form == "HTTP 410"
                ? FakeApiServer.Status(HttpStatusCode.Gone, "Expired", "too old resource version: 20 (40)")
                : FakeApiServer.Watch("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 20 (40)","reason":"Expired","code":410}}"""));
        var options = new InformerOptions<Widget> { Namespace = "ns", WatchTimeout = TimeSpan.FromMinutes(10) };
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, options, clock, NullLogger.Instance);
        using var stop = new CancellationTokenSource();

        // On a thread of its own: the fake answers synchronously, so a loop that never waits would never hand back a task.
        var run = Task.Run(() => informer.RunAsync(stop.Token));
        try
        {
            // The first 410 relists at once (the resourceVersion was compacted away); each later one waits longer.
            for (var i = 1; i <= 6; i++)
            {
                await FakeApiServer.WaitUntilAsync(() => clock.Delays.Count >= i);
                clock.Advance(clock.Delays[i - 1]);
            }

            await FakeApiServer.WaitUntilAsync(() => clock.Delays.Count >= 7);
            await Task.Delay(100);
            server.Requests.Count(request => !request.IsWatch).Should().Be(8, "the first list, the immediate relist and one relist after each of six delays");
            var delays = clock.Delays.Take(7).ToList();
            delays.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
            delays[0].Should().BeGreaterThanOrEqualTo(options.ReconnectInitial * 0.8);
            delays[6].Should().BeLessThanOrEqualTo(options.ReconnectCap);
            delays[5].Should().BeGreaterThan(delays[0] * 16, "the delay doubles with each consecutive 410");
            informer.HasSynced.Should().BeTrue();
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    [Theory]
    [InlineData("HTTP 504 with the cause")]
    [InlineData("ERROR event with the cause")]
    [InlineData("HTTP 504 with the message only")]
    public async Task A_watch_refused_because_its_resourceVersion_is_too_large_relists(string form)
    {
        // After an etcd restore the server's resourceVersions are behind the one the informer resumes from. The server
        // refuses the watch (504 Timeout, cause ResourceVersionTooLarge; before 1.19 only the message says so), and
        // retrying from the same resourceVersion would be refused for good while the cache goes stale.
        const string withCause = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: Too large resource version: 40, current: 12","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504}""";
        const string messageOnly = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too large resource version: 40, current: 12","reason":"Timeout","details":{"retryAfterSeconds":1},"code":504}""";
        var endWatch = new TaskCompletionSource();
        var calls = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    return List("40", Widget.Create("a", "30"), Widget.Create("b", "31"));
                case 2:
                    return form switch
                    {
                        "HTTP 504 with the cause" => FakeApiServer.Json(HttpStatusCode.GatewayTimeout, withCause),
                        "ERROR event with the cause" => FakeApiServer.Watch($$"""{"type":"ERROR","object":{{withCause}}}"""),
                        _ => FakeApiServer.Json(HttpStatusCode.GatewayTimeout, messageOnly),
                    };
                case 3:
                    return List("12", Widget.Create("a", "11"));
                default:
                    await endWatch.Task;
                    return FakeApiServer.Watch();
            }
        });
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Namespace = "ns" }, time, NullLogger.Instance);
        var seen = new List<string>();
        informer.Subscribe(change => seen.Add($"{change.Type} {change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        try
        {
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Count >= 4);

            var requests = server.Requests.ToList();
            requests[1].Query.Should().Contain("watch=true").And.Contain("resourceVersion=40");
            requests[2].IsWatch.Should().BeFalse("a resourceVersion the server does not have yet is mended by a fresh list");
            requests[2].Query.Should().NotContain("resourceVersion");
            requests[3].Query.Should().Contain("watch=true").And.Contain("resourceVersion=12");
            informer.LastResourceVersion.Should().Be("12");
            informer.Cache.List().Select(w => $"{w.Metadata.Name}@{w.Metadata.ResourceVersion}").Should().BeEquivalentTo(["a@11"]);
            seen.Should().Equal("Added a@30", "Added b@31", "Updated a@11", "Deleted b@31");
        }
        finally
        {
            await stop.CancelAsync();
            endWatch.TrySetResult();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>A server listing widget a, then (after the continue token) widget b; its watch waits for <paramref name="endWatch"/>.</summary>
    private static FakeApiServer TwoPages(TaskCompletionSource endWatch) => new(async request =>
    {
        if (request.IsWatch)
        {
            await endWatch.Task;
            return FakeApiServer.Watch();
        }

        return request.Query.Contains("continue=next", StringComparison.Ordinal)
            ? Page("50", null, Widget.Create("b", "2"))
            : Page("50", "next", Widget.Create("a", "1"));
    });

    private static HttpResponseMessage Page(string resourceVersion, string? continueToken, params Widget[] items)
    {
        var list = new { apiVersion = "test.passbox.dev/v1", kind = "WidgetList", metadata = new { resourceVersion, @continue = continueToken }, items };
        return FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(list));
    }

    private static HttpResponseMessage List(string resourceVersion, params Widget[] items) => Page(resourceVersion, null, items);

    private static string Event(string type, Widget widget) => $$"""{"type":"{{type}}","object":{{KubernetesJson.Serialize(widget)}}}""";

    private static string Bookmark(string resourceVersion) =>
        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Widget\",\"apiVersion\":\"test.passbox.dev/v1\",\"metadata\":{\"resourceVersion\":\"" + resourceVersion + "\"}}}";

    /// <summary>A fake clock that notes every wait shorter than a minute asked of it: the informer's backoff delays (its watch guards are longer).</summary>
    private sealed class DelayRecordingClock : FakeTimeProvider
    {
        private readonly Lock gate = new();
        private readonly List<TimeSpan> delays = [];

        public IReadOnlyList<TimeSpan> Delays
        {
            get
            {
                lock (gate)
                {
                    return [.. delays];
                }
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime > TimeSpan.Zero && dueTime < TimeSpan.FromMinutes(1))
            {
                lock (gate)
                {
                    delays.Add(dueTime);
                }
            }

            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
