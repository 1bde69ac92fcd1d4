using System.Globalization;
using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Tests.Controllers;
using Passbox.Operator.Tests.Runtime;
using Passbox.Operator.Usage;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class WorkloadRestarterTests
{
    private static V1Deployment Deployment(Dictionary<string, string>? annotations, string? secretVolume) => new()
    {
        Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "team", Annotations = annotations },
        Spec = new V1DeploymentSpec
        {
            Selector = new V1LabelSelector(),
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "app" }],
                    Volumes = secretVolume is null ? null : [new V1Volume { Name = "db", Secret = new V1SecretVolumeSource { SecretName = secretVolume } }],
                },
            },
        },
    };

    private static bool OptsIn(V1Deployment deployment, string secret) =>
        WorkloadRestarter.OptsIn(deployment.Metadata, WorkloadReferences.From(deployment), secret);

    [Fact]
    public void A_workload_naming_the_Secret_in_the_reload_annotation_opts_in()
    {
        var deployment = Deployment(new() { [WorkloadRestarter.ReloadAnnotation] = "other, billing-db ,x" }, null);

        OptsIn(deployment, "billing-db").Should().BeTrue();
        OptsIn(deployment, "billing").Should().BeFalse();
    }

    [Fact]
    public void Auto_opts_in_only_for_Secrets_the_pod_template_uses()
    {
        var deployment = Deployment(new() { [WorkloadRestarter.AutoAnnotation] = "true" }, "billing-db");

        OptsIn(deployment, "billing-db").Should().BeTrue();
        OptsIn(deployment, "other").Should().BeFalse();
    }

    [Fact]
    public void Without_an_annotation_nothing_restarts()
    {
        OptsIn(Deployment(null, "billing-db"), "billing-db").Should().BeFalse();
        OptsIn(Deployment(new() { [WorkloadRestarter.AutoAnnotation] = "false" }, "billing-db"), "billing-db").Should().BeFalse();
    }
}

/// <summary>A restart that fails stays owed and is retried with backoff, on an API server that refuses the first patch.</summary>
public sealed class OwedRestartTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider time = new(Start);
    private readonly V1ConfigMap credential = new() { Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = "team", Uid = "uid-billing" } };
    private readonly FakeApiServer server;
    private int refusals;

    public OwedRestartTests()
    {
        refusals = 1;
        var optedIn = new V1DeploymentList
        {
            ApiVersion = "apps/v1",
            Kind = "DeploymentList",
            Items =
            [
                new V1Deployment
                {
                    Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "team", Annotations = new Dictionary<string, string> { [WorkloadRestarter.ReloadAnnotation] = "billing" } },
                },
            ],
        };
        server = new FakeApiServer(request => request switch
        {
            { Method.Method: "PATCH" } when Interlocked.Decrement(ref refusals) >= 0 => FakeApiServer.Status(HttpStatusCode.InternalServerError, "InternalError"),
            { Method.Method: "PATCH" } => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(optedIn.Items[0])),
            _ when request.Path.EndsWith("/deployments", StringComparison.Ordinal) => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(optedIn)),
            _ when request.Path.EndsWith("/statefulsets", StringComparison.Ordinal) => FakeApiServer.Json(HttpStatusCode.OK, """{"apiVersion":"apps/v1","kind":"StatefulSetList","items":[]}"""),
            _ => FakeApiServer.Json(HttpStatusCode.OK, """{"apiVersion":"apps/v1","kind":"DaemonSetList","items":[]}"""),
        });
    }

    private WorkloadRestarter Restarter(ILogger<WorkloadRestarter>? logger = null) =>
        new(new KubernetesApiClient(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server)), new InstalledDefinitions(), new NoEvents(), time, logger ?? NullLogger<WorkloadRestarter>.Instance);

    private int Patches => server.Requests.Count(r => r.Method == HttpMethod.Patch);

    [Fact]
    public async Task A_failed_restart_stays_owed_and_is_retried_after_a_backoff_on_a_later_reconcile()
    {
        var restarter = Restarter();
        var status = new ClusterCredentialStatus { RestartPending = "rev-2" };

        var retry = (await restarter.SettleAsync(credential, "team", "billing", status, fresh: true, CancellationToken.None)).RetryAfter;

        Patches.Should().Be(1);
        status.RestartPending.Should().Be("rev-2", "the workload still runs with the old Secret");
        retry.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(ValidationPlanner.TransientBase);

        var early = (await restarter.SettleAsync(credential, "team", "billing", status, fresh: false, CancellationToken.None)).RetryAfter;
        Patches.Should().Be(1, "a reconcile before the backoff is over does not try again");
        early.Should().Be(retry);

        time.Advance(retry!.Value);
        var done = (await restarter.SettleAsync(credential, "team", "billing", status, fresh: false, CancellationToken.None)).RetryAfter;

        Patches.Should().Be(2);
        server.Requests.Last(r => r.Method == HttpMethod.Patch).Body.Should().Be(
            """{"spec":{"template":{"metadata":{"annotations":{"passbox.dev/restartedAt":""" + "\"" + time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + "\"}}}}}",
            "the restart is a merge patch of the pod template's annotation alone");
        status.RestartPending.Should().BeNull("the restart went through");
        done.Should().BeNull();
        (await restarter.SettleAsync(credential, "team", "billing", status, fresh: false, CancellationToken.None)).RetryAfter.Should().BeNull();
        Patches.Should().Be(2, "nothing is owed any more");
    }

    /// <summary>A restart rolls every Pod of a workload: the log names who did it and for which credential, not only an Event that expires.</summary>
    [Fact]
    public async Task A_restart_that_went_through_logs_one_line_naming_the_credential_the_Secret_and_the_workloads()
    {
        refusals = 0;
        var logs = new RecordingLoggers();
        var restarter = Restarter(new Logger<WorkloadRestarter>(logs));
        var status = new ClusterCredentialStatus { RestartPending = "rev-2" };

        await restarter.SettleAsync(credential, "team", "billing", status, fresh: true, CancellationToken.None);

        status.RestartPending.Should().BeNull();
        logs.Messages.Should().ContainSingle(line => line.StartsWith("Restarted workloads", StringComparison.Ordinal))
            .Which.Should().Contain("team/billing").And.Contain("Secret billing").And.Contain("restarted Deployment api");
    }

    [Fact]
    public async Task Repeated_failures_wait_longer_each_time()
    {
        refusals = 3;
        var restarter = Restarter();
        var status = new ClusterCredentialStatus { RestartPending = "rev-2" };
        var waits = new List<TimeSpan>();

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var wait = (await restarter.SettleAsync(credential, "team", "billing", status, fresh: false, CancellationToken.None)).RetryAfter!.Value;
            waits.Add(wait);
            time.Advance(wait);
        }

        waits[2].Should().BeGreaterThan(waits[0]);
        status.RestartPending.Should().Be("rev-2");
        Patches.Should().Be(3);
    }
}
