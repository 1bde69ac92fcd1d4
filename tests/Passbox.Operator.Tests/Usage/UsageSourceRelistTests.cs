using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// A usage informer keeps slim stubs (identity and resourceVersion) once the index holds an object's references. A watch
/// that expires (410 Gone) re-lists every object; those that did not change must stay the same slim stubs, or a relist
/// of 10,000 Pods would quietly bring back every reference list the feed had dropped.
/// </summary>
public sealed class UsageSourceRelistTests
{
    [Fact]
    public async Task A_relist_after_410_keeps_unchanged_objects_as_slim_stubs_and_slims_changed_ones()
    {
        var endWatch = new TaskCompletionSource();
        var calls = 0;
        var server = new FakeApiServer(async request =>
        {
            switch (Interlocked.Increment(ref calls))
            {
                case 1:
                    return List("20", WithVersion(Pod("orders-api", SpecUsingEnv("orders-db")), "10"), WithVersion(Pod("worker", SpecUsingEnv("queue-old")), "11"));
                case 2:
                    return FakeApiServer.Watch("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 20 (40)","reason":"Expired","code":410}}""");
                case 3:
                    return List("41", WithVersion(Pod("orders-api", SpecUsingEnv("orders-db")), "10"), WithVersion(Pod("worker", SpecUsingEnv("queue-new")), "30"));
                default:
                    await endWatch.Task;
                    return FakeApiServer.Watch();
            }
        });
        var source = UsageSources.Pods;
        var informer = new Informer<V1Pod>(server.CreateClient(), ResourceDescriptor.Pods, source.InformerOptions(null, null), new FakeTimeProvider(), NullLogger.Instance);
        var index = new UsageIndex();
        using var feed = source.Feed(informer, index);

        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        var stubBeforeRelist = informer.Cache.Get(new(Ns, "orders-api"));
        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count >= 4);

        informer.LastResourceVersion.Should().Be("41", "the relist happened");
        informer.Cache.List().Should().HaveCount(2).And.OnlyContain(pod => pod.Metadata.Annotations == null && pod.Spec == null, "every cached Pod is a slim stub");
        informer.Cache.Get(new(Ns, "orders-api")).Should().BeSameAs(stubBeforeRelist, "an unchanged Pod keeps the stub it had");
        informer.Cache.Get(new(Ns, "worker"))!.Metadata.ResourceVersion.Should().Be("30");
        index.UsersOfSecret(Ns, "orders-db").Should().Equal(new UsageUser(UsageKinds.Pod, "orders-api"));
        index.UsersOfSecret(Ns, "queue-new").Should().Equal(new UsageUser(UsageKinds.Pod, "worker"));
        index.UsersOfSecret(Ns, "queue-old").Should().BeEmpty();

        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static V1Pod WithVersion(V1Pod pod, string resourceVersion)
    {
        pod.Metadata.ResourceVersion = resourceVersion;
        return pod;
    }

    private static HttpResponseMessage List(string resourceVersion, params V1Pod[] items) =>
        FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(new V1PodList { ApiVersion = "v1", Kind = "PodList", Metadata = new V1ListMeta { ResourceVersion = resourceVersion }, Items = items }));
}
