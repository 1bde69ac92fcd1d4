using System.Net;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime.LeaderElection;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The endpoints the chart's probes and a ServiceMonitor use, on the real operator: liveness that does not depend on the
/// API server (a slow or lost API server must not get the pod killed), readiness that does, Prometheus metrics, and
/// probes that do not fill the log.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class OperatorEndpointsTests(ControlPlaneFixture controlPlane)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_synced_operator_is_live_ready_and_serves_its_metrics_without_logging_each_probe()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("endpoints");
        // Microsoft's categories at Information: only the operator's own default keeps ASP.NET Core's request lines out.
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name, "--Logging:LogLevel:Microsoft=Information");
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = Patience };

        await WaitForStatusAsync(http, "/readyz", HttpStatusCode.OK);
        for (var probe = 0; probe < 3; probe++)
        {
            (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.OK);
            (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        // As System.Net.Quic's "Private.InternalDiagnostics.System.Net.Quic", whose MsQuic counters filled /metrics.
        using var privateDiagnostics = new System.Diagnostics.Metrics.Meter("Private.InternalDiagnostics.Passbox.IntegrationTests");
        privateDiagnostics.CreateObservableGauge("connections.created", () => 7L);
        using var scrape = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        scrape.Content.Headers.ContentType!.MediaType.Should().Be("text/plain", "Prometheus's text format");
        var metrics = await scrape.Content.ReadAsStringAsync();
        metrics.Should().MatchRegex(new Regex(@"(?m)^passbox_informer_lists_total\{resource=""clustercredentials\.passbox\.dev"",informer=""clustercredentials""\} [1-9]"),
            "the credential informer's lists are counted");
        metrics.Should().MatchRegex(new Regex(@"(?m)^passbox_informer_cached_objects\{"), "cache sizes are served");
        metrics.Should().Contain("dotnet_total_memory_bytes", "the runtime's own gauges are served beside Passbox's");
        metrics.Should().MatchRegex(new Regex("(?m)^system_runtime_dotnet_gc_collections"), "the .NET runtime's meter is served");
        metrics.Should().NotContain("private_internaldiagnostics", ".NET's private diagnostics meters are not served");

        host.LogLines.Should().Contain(line => line.Contains("Controller clustercredential started", StringComparison.Ordinal),
            "the operator's own Information lines are kept");
        host.LogLines.Should().NotContain(line => line.Contains("Microsoft.AspNetCore", StringComparison.Ordinal),
            "seven probes and a scrape wrote no request lines");
    }

    [Fact]
    public async Task Each_credential_exports_whether_it_is_Ready_and_why_until_it_is_deleted()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("endpoints");
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name);
        var kit = new ClusterTestKit(controlPlane, ns.Name);
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = Patience };
        string Series(string name, string reason) =>
            $"passbox_credential_ready{{kind=\"PipelineCredential\",namespace=\"{ns.Name}\",name=\"{name}\",reason=\"{reason}\"}}";
        Task<string> ScrapeAsync() => http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "metrics-test-token" });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("good", "token-input"));
        await kit.CreateAsync(ClusterTestKit.TokenCredential("waiting", "not-there-yet"));
        await kit.WaitForConditionAsync<PipelineCredential>("good", ConditionTypes.Ready, "True");
        await kit.WaitForConditionAsync<PipelineCredential>("waiting", ConditionTypes.Ready, "False", ConditionReasons.SourceSecretMissing);

        var good = (await kit.GetAsync<PipelineCredential>("good"))!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason;
        // The operator's informer may see the Ready status a moment after the test did.
        var metrics = await ClusterTestKit.EventuallyAsync(ScrapeAsync,
            text => text.Contains(Series("waiting", ConditionReasons.SourceSecretMissing), StringComparison.Ordinal)
                && text.Contains(Series("good", good), StringComparison.Ordinal), "both credentials' series");
        metrics.Should().Contain($"{Series("good", good)} 1", "a Ready credential reads 1, under its Ready reason")
            .And.Contain($"{Series("waiting", ConditionReasons.SourceSecretMissing)} 0", "one that is not reads 0 and says why");

        // Fixed: the series moves to the new reason, no second series stays behind under the old one.
        await kit.CreateSecretAsync("not-there-yet", new Dictionary<string, string> { ["token"] = "metrics-test-token-2" });
        metrics = await ClusterTestKit.EventuallyAsync(ScrapeAsync,
            text => text.Contains($"{Series("waiting", good)} 1", StringComparison.Ordinal), "the fixed credential to read 1");
        metrics.Should().NotContain(Series("waiting", ConditionReasons.SourceSecretMissing));

        await kit.DeleteAsync<PipelineCredential>("good");
        metrics = await ClusterTestKit.EventuallyAsync(ScrapeAsync,
            text => !text.Contains(Series("good", good), StringComparison.Ordinal), "the deleted credential's series to go");
        metrics.Should().Contain($"{Series("waiting", good)} 1", "the other credential keeps its series");
        metrics.Should().NotContain("metrics-test-token", "a metric never carries a secret");
    }

    [Fact]
    public async Task A_standby_replica_is_ready_and_exports_the_credential_gauge_without_reconciling()
    {
        // Prometheus scrapes every replica behind the metrics Service; the alert must not depend on which one leads.
        await using var ns = await controlPlane.CreateNamespaceAsync("standby");
        var now = DateTime.UtcNow;
        await controlPlane.Admin.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "passbox-operator" },
            Spec = new V1LeaseSpec { HolderIdentity = "leader-elsewhere", LeaseDurationSeconds = 3600, AcquireTime = now, RenewTime = now },
        }, ns.Name);
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name,
            "--leader-elect=true", $"--POD_NAMESPACE={ns.Name}", "--POD_NAME=standby-replica");
        var kit = new ClusterTestKit(controlPlane, ns.Name);
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = Patience };

        await WaitForStatusAsync(http, "/readyz", HttpStatusCode.OK);
        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "standby-test-token" });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("seen-by-standby", "token-input"));
        // The leader elsewhere reports the credential Ready; this replica only watches.
        await kit.PatchStatusAsync<PipelineCredential>("seen-by-standby", new
        {
            status = new
            {
                conditions = new[]
                {
                    new { type = ConditionTypes.Ready, status = "True", reason = "ReportedByTheLeader", message = "Written by the test as the leader.", lastTransitionTime = now },
                },
                expiresAt = "2030-01-01T00:00:00Z",
            },
        });

        var series = $"passbox_credential_ready{{kind=\"PipelineCredential\",namespace=\"{ns.Name}\",name=\"seen-by-standby\",reason=\"ReportedByTheLeader\"}} 1";
        var expiry = $"passbox_credential_expiry_timestamp_seconds{{kind=\"PipelineCredential\",namespace=\"{ns.Name}\",name=\"seen-by-standby\"}} 1893456000";
        var metrics = await ClusterTestKit.EventuallyAsync(() => http.GetStringAsync(new Uri("/metrics", UriKind.Relative)),
            text => text.Contains(series, StringComparison.Ordinal), "the standby's gauge for the credential the leader reported");
        metrics.Should().Contain(expiry, "status.expiresAt is exported, in Unix seconds");

        // Asserted as a bool: a failure must not print a published Secret's data.
        (await kit.TryGetSecretAsync("seen-by-standby") is null).Should().BeTrue("a standby publishes nothing");
        (await kit.GetAsync<PipelineCredential>("seen-by-standby"))!.Status!.Conditions!.Should().ContainSingle()
            .Which.Reason.Should().Be("ReportedByTheLeader", "a standby writes no status");
        (await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync("passbox-operator", ns.Name)).Spec.HolderIdentity
            .Should().Be("leader-elsewhere");
        host.LogLines.Should().Contain(line => line.Contains("Standing for leadership", StringComparison.Ordinal))
            .And.NotContain(line => line.Contains("Acquired lease", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_second_installation_in_the_same_namespace_leads_its_own_lease()
    {
        // Two releases in passbox-system, one per team namespace: the first holds the default lease.
        await using var home = await controlPlane.CreateNamespaceAsync("installs");
        await using var team = await controlPlane.CreateNamespaceAsync("team-b");
        var now = DateTime.UtcNow;
        await controlPlane.Admin.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = LeaderElectionOptions.DefaultLeaseName },
            Spec = new V1LeaseSpec { HolderIdentity = "team-a-install", LeaseDurationSeconds = 3600, AcquireTime = now, RenewTime = now },
        }, home.Name);
        const string lease = "team-b-passbox-operator";
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, team.Name,
            "--leader-elect=true", $"--POD_NAMESPACE={home.Name}", "--POD_NAME=team-b-replica", $"--PASSBOX_LEADER_ELECTION_NAME={lease}");
        var kit = new ClusterTestKit(controlPlane, team.Name);

        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "second-install-token" });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("team-b-deploy", "token-input"));

        await kit.WaitForConditionAsync<PipelineCredential>("team-b-deploy", ConditionTypes.Ready, "True");
        (await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync(lease, home.Name)).Spec.HolderIdentity
            .Should().Be("team-b-replica", "the second installation leads a lease named after it");
        (await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync(LeaderElectionOptions.DefaultLeaseName, home.Name)).Spec.HolderIdentity
            .Should().Be("team-a-install", "the first installation's lease is left alone");
    }

    [Fact]
    public async Task Request_lines_come_back_when_asked_for()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("endpoints");
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name, "--Logging:LogLevel:Microsoft.AspNetCore=Information");
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = Patience };

        (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.OK);

        host.LogLines.Should().Contain(line => line.StartsWith("Information Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal) && line.Contains("/healthz", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_an_API_server_the_operator_stays_live_and_says_it_is_not_ready()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("endpoints");
        var kubeconfig = Path.Combine(Path.GetTempPath(), $"passbox-unreachable-{Guid.NewGuid():N}.kubeconfig");
        var endpoint = $"127.0.0.1:{LoopbackPorts.Unused()}";
        var server = $"https://{endpoint}";
        await File.WriteAllTextAsync(kubeconfig, Regex.Replace(await File.ReadAllTextAsync(controlPlane.OperatorKubeconfig), @"(?m)^(\s*server:\s*).*$", $"${{1}}{server}"));
        try
        {
            await using var host = await OperatorHost.StartAsync(kubeconfig, ns.Name);
            using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = Patience };

            // Long enough for the informers' first lists to fail and be retried with backoff.
            await Task.Delay(TimeSpan.FromSeconds(3));
            (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.OK,
                "a restart does not bring the API server back");
            var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "nothing was listed, so no Service should send work here");
            (await ready.Content.ReadAsStringAsync()).Should().StartWith("Unhealthy\nruntime: Informers not synced: ")
                .And.Contain($"(listing clustercredentials.passbox.dev failed: Connection refused ({endpoint}))", "it says why, not only what");
            for (var probe = 0; probe < 3; probe++)
            {
                (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            }

            host.LogLines.Should().NotContain(line => line.Contains("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal),
                "a probe of a pod that is not ready is answered, not logged as an error each time");
            host.LogLines.Should().Contain(line => line.Contains($"List of clustercredentials.passbox.dev failed: Connection refused ({endpoint}) (attempt ", StringComparison.Ordinal))
                .And.NotContain(line => line.Contains(" at System.Net.", StringComparison.Ordinal), "each informer's retries name the cause in a line, without the HTTP client's stack");
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    private static async Task WaitForStatusAsync(HttpClient http, string path, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow + Patience;
        HttpStatusCode last;
        do
        {
            last = (await http.GetAsync(new Uri(path, UriKind.Relative))).StatusCode;
            if (last == expected)
            {
                return;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        last.Should().Be(expected, $"{path} should answer {expected} within {Patience}");
    }
}
