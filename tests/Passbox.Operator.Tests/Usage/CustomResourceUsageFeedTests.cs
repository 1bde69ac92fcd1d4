using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// Deleting a CRD deletes its runs, but a real API server may deliver the CRD's DELETE before the runs' DELETEs (they
/// come on another watch; 2 in 40 deletions did so on the local control plane), and the stopped watch of the runs may
/// take its time to end. Either way a deleted CRD's runs must stop counting as users at once, and a CRD created again
/// must count its new runs, whatever the old watch does afterwards.
/// <para>
/// A CRD that appears after start is waited for by no controller: until its runs are listed, a deletion must wait
/// (the namespace is not complete), and the credentials that wait must be woken once they are. A CRD change that
/// arrives while the feed reads the CRD must not be lost to a "not served" answer read before it.
/// </para>
/// </summary>
public sealed class CustomResourceUsageFeedTests : IDisposable
{
    private const string Definitions = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    private const string Definition = Definitions + "/pipelineruns.tekton.dev";
    private const string Runs = "/apis/tekton.dev/v1/pipelineruns";
    private const string RunList = """
        {"apiVersion":"tekton.dev/v1","kind":"PipelineRunList","metadata":{"resourceVersion":"20"},"items":[
          {"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"name":"deploy","namespace":"team-a","resourceVersion":"19"},
           "spec":{"workspaces":[{"name":"creds","secret":{"secretName":"creds"}}]}}]}
        """;

    private readonly TaskCompletionSource testOver = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource releaseFirstRunWatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource deleteDefinition = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly RecordingLoggers loggers = new();
    private readonly UsageIndex index = new();
    private readonly UsageScope scope = new();
    private readonly CancellationTokenSource stop = new();
    private int runLists;

    [Fact]
    public async Task A_deleted_CRDs_runs_stop_counting_at_once_even_when_their_watch_has_not_ended()
    {
        var feed = Start(recreate: false);
        await WaitForUserAsync();

        deleteDefinition.SetResult();

        await FakeApiServer.WaitUntilAsync(() => index.UsersOfSecret(Ns, "creds").Count == 0);
        feed.Watched.Should().BeEmpty();
        loggers.Messages.Should().NotContain(m => m.Contains("stopped watching", StringComparison.Ordinal), "the old watch of the runs has not ended yet");
    }

    [Fact]
    public async Task The_CRD_informer_is_found_in_the_metrics_under_the_name_of_its_log_category()
    {
        _ = Start(recreate: false);
        await WaitForUserAsync();

        RuntimeMetrics.Relists.WithLabels(CustomResourceUsageFeed.CustomResourceDefinitions.DisplayName, CustomResourceUsageFeed.DefinitionsInformerName)
            .Value.Should().BeGreaterThan(0, "the informer logging as Passbox.Operator.Runtime.Informer.{0} listed the CRDs", CustomResourceUsageFeed.DefinitionsInformerName);
    }

    [Fact]
    public async Task A_CRD_created_again_counts_its_runs_even_after_the_old_watch_ends()
    {
        var feed = Start(recreate: true);
        await WaitForUserAsync();

        deleteDefinition.SetResult();
        await FakeApiServer.WaitUntilAsync(() => Volatile.Read(ref runLists) == 2);
        await WaitForUserAsync();

        releaseFirstRunWatch.SetResult();
        await FakeApiServer.WaitUntilAsync(() => loggers.Messages.Any(m => m.Contains("stopped watching", StringComparison.Ordinal)));

        index.UsersOfSecret(Ns, "creds").Should().Equal([new UsageUser(UsageKinds.PipelineRun, "deploy")], "the run of the new CRD still uses the Secret");
        feed.Watched.Should().Equal("pipelineruns.tekton.dev");
    }

    [Fact]
    public async Task A_CRD_created_after_start_holds_deletions_until_its_runs_are_listed_then_wakes_them()
    {
        var releaseRunList = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runListCalls = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (request.Path)
            {
                case Definitions when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, DefinitionList());
                case Definitions when request.Query.Contains("resourceVersion=10", StringComparison.Ordinal):
                    return FakeApiServer.Watch($$"""{"type":"ADDED","object":{{DefinitionMeta("uid-1", "11")}}}""");
                case Definition:
                    return FakeApiServer.Json(HttpStatusCode.OK, Served(v1: true));
                case Runs when !request.IsWatch && Interlocked.Increment(ref runListCalls) == 1:
                    // Just created: the API server does not serve the new kind for a moment.
                    return FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound", "secret-looking server text");
                case Runs when !request.IsWatch:
                    await releaseRunList.Task;
                    return FakeApiServer.Json(HttpStatusCode.OK, RunList);
                default:
                    await testOver.Task;
                    return FakeApiServer.Watch();
            }
        });
        var wakes = new ConcurrentQueue<(bool Complete, int Users)>();
        scope.Kinds.Changed += () => wakes.Enqueue((scope.IsComplete(Ns), index.UsersOfSecret(Ns, "creds").Count));
        var feed = Run(server);
        await feed.WaitForSyncAsync(stop.Token);

        await FakeApiServer.WaitUntilAsync(() => Volatile.Read(ref runListCalls) == 2);
        scope.IsComplete(Ns).Should().BeFalse("the PipelineRuns are not listed yet, and one of them uses the Secret");
        scope.Kinds.Current.Should().NotBeNull();
        scope.Kinds.Current!.Kind.Should().Be(UsageKinds.PipelineRun);
        scope.Kinds.Current.Definition.Should().Be("pipelineruns.tekton.dev");
        scope.Kinds.Current.Problem.Should().Be("listing pipelineruns.tekton.dev failed: 404 NotFound", "why it waits, without the server's text");
        wakes.Should().Equal([(false, 0)], "the failure wakes the waiting credentials once, so their condition can say why");

        releaseRunList.SetResult();

        // The scope turns complete, then tells its listeners: wait for the telling, not only the state.
        await FakeApiServer.WaitUntilAsync(() => scope.IsComplete(Ns) && wakes.Count >= 2);
        scope.Kinds.Current.Should().BeNull();
        wakes.Should().Equal([(false, 0), (true, 1)], "the end of the listing wakes them once the index holds the run");
    }

    [Fact]
    public async Task A_CRD_created_after_start_stops_holding_deletions_when_it_does_not_serve_v1_or_is_deleted()
    {
        var runListAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new FakeApiServer(async request =>
        {
            switch (request.Path)
            {
                case Definitions when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, DefinitionList());
                case Definitions when request.Query.Contains("resourceVersion=10", StringComparison.Ordinal):
                    return FakeApiServer.Watch($$"""{"type":"ADDED","object":{{DefinitionMeta("uid-1", "11")}}}""");
                case Definitions when request.Query.Contains("resourceVersion=11", StringComparison.Ordinal):
                    await deleteDefinition.Task;
                    return FakeApiServer.Watch(
                        $$"""{"type":"DELETED","object":{{DefinitionMeta("uid-1", "12")}}}""",
                        $$"""{"type":"ADDED","object":{{DefinitionMeta("uid-2", "13")}}}""");
                case Definition when deleteDefinition.Task.IsCompleted:
                    return FakeApiServer.Json(HttpStatusCode.OK, Served(v1: false));
                case Definition:
                    return FakeApiServer.Json(HttpStatusCode.OK, Served(v1: true));
                case Runs when !request.IsWatch:
                    // A kind that cannot be listed: only the CRD's end may release the deletions.
                    runListAsked.TrySetResult();
                    return FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden");
                default:
                    await testOver.Task;
                    return FakeApiServer.Watch();
            }
        });
        var wakes = 0;
        scope.Kinds.Changed += () => Interlocked.Increment(ref wakes);
        var feed = Run(server);
        await runListAsked.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await FakeApiServer.WaitUntilAsync(() => scope.Kinds.Current?.Problem is not null);
        scope.IsComplete(Ns).Should().BeFalse();
        scope.Kinds.Current!.Problem.Should().Contain("403 Forbidden");

        // Deleted, then created again without v1: neither the old kind nor the new one will ever be listed.
        deleteDefinition.SetResult();

        await FakeApiServer.WaitUntilAsync(() => loggers.Messages.Any(m => m.Contains("does not serve version v1", StringComparison.Ordinal)));
        // As above: the scope turns complete before it tells its listeners.
        await FakeApiServer.WaitUntilAsync(() => scope.IsComplete(Ns) && Volatile.Read(ref wakes) >= 2);
        scope.Kinds.Current.Should().BeNull();
        Volatile.Read(ref wakes).Should().BeGreaterThanOrEqualTo(2, "the failure woke them, and so did the end");
    }

    /// <summary>
    /// The CRD gains v1 while the feed's read of it is in flight: the read answers with the CRD as it was. The change
    /// (MODIFIED) is handled before that answer arrives; the feed must read the CRD again rather than give up for good.
    /// </summary>
    [Fact]
    public async Task A_CRD_change_that_arrives_while_the_CRD_is_read_is_not_lost()
    {
        var changeHandled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var definitionWatches = 0;
        var definitionReads = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (request.Path)
            {
                case Definitions when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, DefinitionList(DefinitionMeta("uid-1", "5")));
                case Definitions when Interlocked.Increment(ref definitionWatches) == 1:
                    return FakeApiServer.Watch($$"""{"type":"MODIFIED","object":{{DefinitionMeta("uid-1", "11")}}}""");
                case Definitions:
                    // The first watch's events are handled before the informer watches again.
                    changeHandled.TrySetResult();
                    await testOver.Task;
                    return FakeApiServer.Watch();
                case Definition when Interlocked.Increment(ref definitionReads) == 1:
                    await changeHandled.Task;
                    return FakeApiServer.Json(HttpStatusCode.OK, Served(v1: false));
                case Definition:
                    return FakeApiServer.Json(HttpStatusCode.OK, Served(v1: true));
                case Runs when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, RunList);
                default:
                    await testOver.Task;
                    return FakeApiServer.Watch();
            }
        });
        var feed = Run(server);

        await WaitForUserAsync();
        Volatile.Read(ref definitionReads).Should().Be(2);
        feed.Watched.Should().Equal("pipelineruns.tekton.dev");
    }

    /// <summary>
    /// Readiness asks each informer whether it still follows the server. The runs of a CRD are watched by the feed, not by
    /// an informer of their own that readiness knows: a watch of them that keeps failing after their list (Tekton's
    /// conversion webhook down) left the runs as they were, deletions went on trusting them, and readiness said nothing.
    /// </summary>
    [Fact]
    public async Task A_kind_whose_watch_keeps_failing_after_its_list_is_reported_as_not_following_the_server()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var server = new FakeApiServer(async request =>
        {
            switch (request.Path)
            {
                case Definitions when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, DefinitionList(DefinitionMeta("uid-1", "5")));
                case Definition:
                    return FakeApiServer.Json(HttpStatusCode.OK, Served(v1: true));
                case Runs when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, RunList);
                case Runs:
                    return FakeApiServer.Status(HttpStatusCode.InternalServerError, "InternalError", "conversion webhook for tekton.dev/v1beta1 failed");
                default:
                    await testOver.Task;
                    return FakeApiServer.Watch();
            }
        });
        IInformer feed = Run(server, time);
        await feed.WaitForSyncAsync(stop.Token);
        await FakeApiServer.WaitUntilAsync(() => loggers.Messages.Any(m => m.Contains("Watch of pipelineruns.tekton.dev", StringComparison.Ordinal)));
        feed.WatchProblem.Should().BeNull("a watch that failed a moment ago may come back");

        time.Advance(TimeSpan.FromMinutes(2));

        await FakeApiServer.WaitUntilAsync(() => feed.WatchProblem is not null);
        feed.WatchProblem.Should().Contain("watching pipelineruns.tekton.dev failed: 500");
    }

    public CustomResourceUsageFeedTests()
    {
        scope.Namespaces.Include(Ns);
    }

    public void Dispose()
    {
        stop.Cancel();
        testOver.TrySetResult();
        releaseFirstRunWatch.TrySetResult();
        stop.Dispose();
    }

    private CustomResourceUsageFeed Run(FakeApiServer server, TimeProvider? time = null)
    {
        var feed = new CustomResourceUsageFeed(server.CreateClient(), index, watchNamespace: null, scope, time ?? TimeProvider.System, loggers);
        _ = feed.RunAsync(stop.Token);
        return feed;
    }

    private async Task WaitForUserAsync() =>
        await FakeApiServer.WaitUntilAsync(() => index.UsersOfSecret(Ns, "creds").SequenceEqual([new UsageUser(UsageKinds.PipelineRun, "deploy")]));

    private CustomResourceUsageFeed Start(bool recreate)
    {
        var definitionWatches = 0;
        var runWatches = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (request.Path)
            {
                case Definitions when !request.IsWatch:
                    return FakeApiServer.Json(HttpStatusCode.OK, $$"""{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"10"},"items":[{{DefinitionMeta("uid-1", "5")}}]}""");
                case Definitions when Interlocked.Increment(ref definitionWatches) == 1:
                    await deleteDefinition.Task;
                    return FakeApiServer.Watch(
                        [$$"""{"type":"DELETED","object":{{DefinitionMeta("uid-1", "11")}}}""",
                        .. recreate ? [$$"""{"type":"ADDED","object":{{DefinitionMeta("uid-2", "12")}}}"""] : Array.Empty<string>()]);
                case Definition:
                    return FakeApiServer.Json(HttpStatusCode.OK, """{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"pipelineruns.tekton.dev"},"spec":{"versions":[{"name":"v1","served":true,"storage":true}]}}""");
                case Runs when !request.IsWatch:
                    Interlocked.Increment(ref runLists);
                    return FakeApiServer.Json(HttpStatusCode.OK, """
                        {"apiVersion":"tekton.dev/v1","kind":"PipelineRunList","metadata":{"resourceVersion":"20"},"items":[
                          {"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"name":"deploy","namespace":"team-a","resourceVersion":"19"},
                           "spec":{"workspaces":[{"name":"creds","secret":{"secretName":"creds"}}]}}]}
                        """);
                case Runs when Interlocked.Increment(ref runWatches) == 1:
                    // A watch that ends late, whatever its caller's cancellation says.
                    await releaseFirstRunWatch.Task;
                    return FakeApiServer.Watch();
                default:
                    await testOver.Task;
                    return FakeApiServer.Watch();
            }
        });

        return Run(server);
    }

    private static string DefinitionList(params string[] items) =>
        $$"""{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"10"},"items":[{{string.Join(",", items)}}]}""";

    private static string Served(bool v1) =>
        """{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"pipelineruns.tekton.dev"},"spec":{"versions":[{"name":"v1beta1","served":true}"""
        + (v1 ? """,{"name":"v1","served":true,"storage":true}""" : "") + "]}}";

    private static string DefinitionMeta(string uid, string resourceVersion) =>
        $$$"""{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"pipelineruns.tekton.dev","uid":"{{{uid}}}","resourceVersion":"{{{resourceVersion}}}"}}""";
}
