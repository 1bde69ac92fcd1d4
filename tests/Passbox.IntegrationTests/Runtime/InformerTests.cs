using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Health;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Watching;
using Xunit.Abstractions;
using static Passbox.IntegrationTests.Runtime.RuntimeTestKit;

namespace Passbox.IntegrationTests.Runtime;

[Collection(ControlPlaneDefinition.Name)]
public sealed class InformerTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private static readonly string WidgetMetric = Widgets.DisplayName;

    [Fact]
    public async Task A_watch_survives_server_side_timeouts_without_missing_or_duplicating_events()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("timeout");
        var informer = Informer(controlPlane.CreateOperatorApi(), Widgets, new InformerOptions<Widget> { Namespace = ns.Name, WatchTimeout = TimeSpan.FromSeconds(1) });
        var log = new EventLog<Widget>();
        informer.Subscribe(log.Record);
        var restartsBefore = MetricValue(RuntimeMetrics.WatchRestarts, WidgetMetric, WidgetMetric, "timeout");
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        // Each round of changes lands on a new watch connection: the previous one was ended by the server.
        var names = Enumerable.Range(0, 8).Select(i => $"w{i}").ToList();
        foreach (var name in names)
        {
            await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, name);
        }

        for (var size = 2; size <= 4; size++)
        {
            var round = size - 1;
            await EventuallyAsync(() => MetricValue(RuntimeMetrics.WatchRestarts, WidgetMetric, WidgetMetric, "timeout") - restartsBefore >= round, TimeSpan.FromSeconds(10));
            foreach (var name in names)
            {
                await controlPlane.AdminApi.ResizeWidgetAsync(ns.Name, name, size);
                await Task.Delay(20);
            }
        }

        await EventuallyAsync(() => names.All(name => informer.Cache.Get(new ObjectKey(ns.Name, name))?.Spec?.Size == 4), because: "every change reaches the cache");
        await Task.Delay(500);
        await stop.CancelAsync();
        await run;

        (MetricValue(RuntimeMetrics.WatchRestarts, WidgetMetric, WidgetMetric, "timeout") - restartsBefore).Should().BeGreaterThanOrEqualTo(3, "the 1-2 s server-side timeout ended the watch several times");
        foreach (var name in names)
        {
            log.Count(InformerEventType.Added, name).Should().Be(1, $"{name} was created once");
            log.Count(InformerEventType.Updated, name).Should().Be(3, $"{name} was resized three times");
            log.All.Where(e => e.Key == name).Select(e => e.ResourceVersion).Should().OnlyHaveUniqueItems();
        }
    }

    [SkippableFact]
    public async Task After_compaction_a_resumed_watch_gets_410_and_the_re_list_reports_only_what_changed()
    {
        Skip.IfNot(controlPlane.IsLocal, "compacts etcd: needs the local control plane");

        await using var ns = await controlPlane.CreateNamespaceAsync("gone");
        foreach (var name in new[] { "keep", "change", "remove" })
        {
            await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, name);
        }

        var informer = Informer(controlPlane.CreateOperatorApi(), Widgets, new InformerOptions<Widget> { Namespace = ns.Name });
        var log = new EventLog<Widget>();
        informer.Subscribe(log.Record);
        using (var firstRun = new CancellationTokenSource())
        {
            var run = informer.RunAsync(firstRun.Token);
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            informer.Cache.Count.Should().Be(3);
            await firstRun.CancelAsync();
            await run;
        }

        // While the informer is away: change, delete, add; then compact its resourceVersion away.
        await controlPlane.AdminApi.ResizeWidgetAsync(ns.Name, "change", 2);
        await controlPlane.AdminApi.DeleteWidgetAsync(ns.Name, "remove");
        await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, "added");
        await controlPlane.RunControlPlaneCommandAsync("compact");
        var seenBefore = log.All.Count;
        var goneBefore = MetricValue(RuntimeMetrics.WatchRestarts, WidgetMetric, WidgetMetric, "gone");

        using var secondRun = new CancellationTokenSource();
        var resumed = informer.RunAsync(secondRun.Token);
        await EventuallyAsync(() => informer.Cache.Get(new ObjectKey(ns.Name, "added")) is not null && informer.Cache.Count == 3);
        await Task.Delay(300);
        await secondRun.CancelAsync();
        await resumed;

        (MetricValue(RuntimeMetrics.WatchRestarts, WidgetMetric, WidgetMetric, "gone") - goneBefore).Should().Be(1);
        log.All.Skip(seenBefore).Select(e => $"{e.Type} {e.Key}").Should().BeEquivalentTo(["Updated change", "Deleted remove", "Added added"]);
        informer.Cache.Get(new ObjectKey(ns.Name, "change"))!.Spec!.Size.Should().Be(2);
    }

    [SkippableFact]
    public async Task The_informer_reconnects_after_the_api_server_restarts()
    {
        Skip.IfNot(controlPlane.IsLocal, "restarts the API server: needs the local control plane");

        await using var ns = await controlPlane.CreateNamespaceAsync("restart");
        var informer = Informer(controlPlane.CreateOperatorApi(), Widgets, new InformerOptions<Widget> { Namespace = ns.Name, ReconnectInitial = TimeSpan.FromMilliseconds(200) });
        var log = new EventLog<Widget>();
        informer.Subscribe(log.Record);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, "before");
        await EventuallyAsync(() => informer.Cache.Count == 1);

        await controlPlane.RunControlPlaneCommandAsync("restart-apiserver");
        await controlPlane.AdminApi.CreateWidgetAsync(ns.Name, "after");

        await EventuallyAsync(() => informer.Cache.Count == 2, TimeSpan.FromSeconds(20), "the informer resumes after the restart");
        await stop.CancelAsync();
        await run;
        log.Count(InformerEventType.Added, "before").Should().Be(1, "resuming from the last resourceVersion does not replay old objects");
        log.Count(InformerEventType.Added, "after").Should().Be(1);
    }

    [Fact]
    public async Task A_metadata_only_secret_watch_never_receives_secret_data()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("metaonly");
        const string secretValue = "do-not-leak-7f3a";
        var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(secretValue));
        await controlPlane.Admin.CoreV1.CreateNamespacedSecretAsync(Secret(ns.Name, "listed", secretValue), ns.Name);

        var api = controlPlane.CreateOperatorApi();
        var informer = Informer(api, ResourceDescriptor.Secrets, new InformerOptions<PartialObjectMetadata> { Namespace = ns.Name, MetadataOnly = true });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        await controlPlane.Admin.CoreV1.CreateNamespacedSecretAsync(Secret(ns.Name, "watched", secretValue), ns.Name);
        await EventuallyAsync(() => informer.Cache.Count == 2);
        await stop.CancelAsync();
        await run;
        informer.Cache.Get(new ObjectKey(ns.Name, "watched"))!.Metadata.Labels.Should().ContainKey("app");

        // On the wire: neither the list nor the watch carries data.
        const string listAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        using var list = await api.SendAsync(HttpMethod.Get, ResourceDescriptor.Secrets.CollectionPath(ns.Name), null, listAccept, false, CancellationToken.None);
        var listBody = await list.Content.ReadAsStringAsync();
        listBody.Should().Contain("PartialObjectMetadataList").And.Contain("listed").And.NotContain("\"data\"").And.NotContain(encoded);

        var resourceVersion = System.Text.Json.Nodes.JsonNode.Parse(listBody)!["metadata"]!["resourceVersion"]!.GetValue<string>();
        await controlPlane.Admin.CoreV1.CreateNamespacedSecretAsync(Secret(ns.Name, "on-the-wire", secretValue), ns.Name);
        using var watch = await api.SendAsync(
            HttpMethod.Get,
            ResourceDescriptor.Secrets.CollectionPath(ns.Name) + $"?watch=true&timeoutSeconds=5&resourceVersion={resourceVersion}",
            null,
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
            true,
            CancellationToken.None);
        using var reader = new StreamReader(await watch.Content.ReadAsStreamAsync());
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null && !line.Contains("on-the-wire", StringComparison.Ordinal))
        {
        }

        line.Should().NotBeNull().And.Contain("PartialObjectMetadata").And.NotContain("\"data\"").And.NotContain(encoded);
    }

    [Fact]
    public async Task An_informer_started_together_with_its_crd_syncs_once_the_resource_is_served()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var group = $"g{suffix}.test.passbox.dev";
        var crd = ControlPlaneTestCrd.Build(group, "gadgets", "Gadget");

        // Not waiting for Established: the informer meets 404 and 429 "storage is (re)initializing" first.
        await controlPlane.Admin.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        try
        {
            var resource = new ResourceDescriptor(group, ControlPlaneTestCrd.Version, "gadgets", "Gadget");
            var informer = Informer(controlPlane.CreateOperatorApi(), resource, new InformerOptions<Widget>());
            using var stop = new CancellationTokenSource();
            var run = informer.RunAsync(stop.Token);

            var started = System.Diagnostics.Stopwatch.StartNew();
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15));
            output.WriteLine($"Synced {started.ElapsedMilliseconds} ms after creating the CRD; 429 pauses: {MetricValue(RuntimeMetrics.WatchRestarts, resource.DisplayName, resource.DisplayName, "throttled")}");
            await stop.CancelAsync();
            await run;
        }
        finally
        {
            await controlPlane.Admin.ApiextensionsV1.DeleteCustomResourceDefinitionAsync(crd.Metadata.Name);
        }
    }

    [Fact]
    public async Task Readiness_is_lost_while_the_resource_cannot_be_watched_and_comes_back_when_it_can()
    {
        // The CRD is removed under a running operator (a chart uninstall that takes the CRDs, say): every list and watch
        // answers 404 from then on, and the cache stays as it was.
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var group = $"g{suffix}.test.passbox.dev";
        var crd = ControlPlaneTestCrd.Build(group, "gadgets", "Gadget");
        await controlPlane.ApplyCrdAsync(crd);
        var resource = new ResourceDescriptor(group, ControlPlaneTestCrd.Version, "gadgets", "Gadget");
        var informer = Informer(controlPlane.CreateOperatorApi(), resource, new InformerOptions<Widget>
        {
            StaleAfter = TimeSpan.FromSeconds(3),
            ReconnectInitial = TimeSpan.FromMilliseconds(200),
            ReconnectCap = TimeSpan.FromSeconds(1),
        });
        var readiness = new RuntimeReadinessCheck(
            [informer],
            new LeaderElectionRunner(controlPlane.Admin, new LeaderElectionOptions { Enabled = false }, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance));
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        try
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(15));
            (await readiness.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy);

            await controlPlane.Admin.ApiextensionsV1.DeleteCustomResourceDefinitionAsync(crd.Metadata.Name);
            await EventuallyAsync(() => informer.WatchProblem is not null, TimeSpan.FromSeconds(30), "the informer says it no longer follows the server");
            var lost = await readiness.CheckHealthAsync(new HealthCheckContext());
            output.WriteLine($"While the CRD is gone: {lost.Description}");
            lost.Status.Should().Be(HealthStatus.Unhealthy);
            lost.Description.Should().Contain(resource.DisplayName).And.Contain("404");

            await EventuallyAsync(() => CrdGone(crd.Metadata.Name), TimeSpan.FromSeconds(30), "the CRD's deletion completes");
            await controlPlane.ApplyCrdAsync(ControlPlaneTestCrd.Build(group, "gadgets", "Gadget"));
            await EventuallyAsync(() => informer.WatchProblem is null, TimeSpan.FromSeconds(30), "the watch gets through once the resource is served again");
            (await readiness.CheckHealthAsync(new HealthCheckContext())).Status.Should().Be(HealthStatus.Healthy);
        }
        finally
        {
            await stop.CancelAsync();
            await run;
            try
            {
                await controlPlane.Admin.ApiextensionsV1.DeleteCustomResourceDefinitionAsync(crd.Metadata.Name);
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
            }
        }
    }

    private bool CrdGone(string name)
    {
        try
        {
            controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinition(name);
            return false;
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return true;
        }
    }

    private static V1Secret Secret(string @namespace, string name, string value) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, Labels = new Dictionary<string, string> { ["app"] = "test" } },
        Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes(value) },
    };
}
