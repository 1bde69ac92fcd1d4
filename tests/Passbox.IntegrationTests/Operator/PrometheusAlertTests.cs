using System.Text.Json.Nodes;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Shipping;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The chart's alerts, PassboxCredentialNotReady, PassboxOperatorDown and the others, as a real Prometheus evaluates them: scraping
/// the real operator the way the Prometheus Operator scrapes it from the chart's ServiceMonitor (which puts the operator's
/// own namespace, pod and service on every series), and, over half an hour of made-up samples, with
/// <c>promtool test rules</c>.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class PrometheusAlertTests(ControlPlaneFixture controlPlane)
{
    private const string Alert = "PassboxCredentialNotReady";
    private const string OperatorDown = "PassboxOperatorDown";

    /// <summary>The job the Prometheus Operator names after the Service a ServiceMonitor selects: the chart's metrics Service.</summary>
    private const string MetricsJob = "passbox-metrics";

    [Fact]
    public async Task A_credential_not_Ready_fires_the_alert_in_its_own_namespace_and_a_fixed_one_resolves_it()
    {
        // The same name in two namespaces: Ready in one, waiting for its Secret in the other. Were the credential's
        // namespace lost to the scrape target's, both would be one series, and the alert would name the operator's namespace.
        await using var failing = await controlPlane.CreateNamespaceAsync("alerting");
        await using var healthy = await controlPlane.CreateNamespaceAsync("alerting");
        await using var failingOperator = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, failing.Name);
        await using var healthyOperator = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, healthy.Name);
        var failingKit = new ClusterTestKit(controlPlane, failing.Name);
        var healthyKit = new ClusterTestKit(controlPlane, healthy.Name);
        await healthyKit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "alert-test-token" });
        await healthyKit.CreateAsync(ClusterTestKit.TokenCredential("deploy-token"));
        await failingKit.CreateAsync(ClusterTestKit.TokenCredential("deploy-token"));
        await healthyKit.WaitForConditionAsync<PipelineCredential>("deploy-token", ConditionTypes.Ready, "True");
        await failingKit.WaitForConditionAsync<PipelineCredential>("deploy-token", ConditionTypes.Ready, "False", ConditionReasons.SourceSecretMissing);

        // Both operators serve the process's one metrics registry; one target is scraped, as the chart's one Service.
        var chart = AlertingChart();
        await using var prometheus = await PrometheusServer.StartAsync(
            ScrapeJobAsTheOperatorOfPrometheusWrites(chart, failingOperator.BaseAddress),
            chart.OfKind("PrometheusRule").Single()["spec"]!["groups"]!.AsArray());

        var alerts = await ClusterTestKit.EventuallyAsync(prometheus.AlertsAsync,
            all => all.Any(a => IsAlertFor(a.Labels, failing.Name) && a.State == "firing"), "the alert for the credential without its Secret");
        var fired = alerts.Single(a => IsAlertFor(a.Labels, failing.Name)).Labels;
        fired.Should().Contain("kind", "PipelineCredential").And.Contain("severity", "warning");
        alerts.Should().NotContain(a => IsAlertFor(a.Labels, healthy.Name), "the Ready credential of the same name does not alert");

        await failingKit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "alert-test-token-2" });
        await ClusterTestKit.EventuallyAsync(prometheus.AlertsAsync,
            all => !all.Any(a => IsAlertFor(a.Labels, failing.Name)), "the alert to resolve once the credential is Ready");
        (await prometheus.QueryAsync($"passbox_credential_ready{{namespace=\"{failing.Name}\",name=\"deploy-token\"}}"))
            .Should().ContainSingle().Which.Value.Should().Be("1");
        (await prometheus.AlertsAsync()).Should().NotContain(a => a.Labels["alertname"] == OperatorDown, "the operator is scraped");
    }

    [Fact]
    public async Task With_no_operator_answering_the_scrape_PassboxOperatorDown_fires()
    {
        var chart = AlertingChart();
        await using var prometheus = await PrometheusServer.StartAsync(
            ScrapeJobAsTheOperatorOfPrometheusWrites(chart, new Uri($"http://127.0.0.1:{LoopbackPorts.Unused()}")),
            chart.OfKind("PrometheusRule").Single()["spec"]!["groups"]!.AsArray());

        var alerts = await ClusterTestKit.EventuallyAsync(prometheus.AlertsAsync,
            all => all.Any(a => a.Labels["alertname"] == OperatorDown && a.State == "firing"), "the alert that no operator is scraped");
        alerts.Single(a => a.Labels["alertname"] == OperatorDown).Labels.Should()
            .Contain("namespace", ShippingManifests.DefaultNamespace).And.Contain("job", MetricsJob);
    }

    [Fact]
    public void The_chart_rules_wait_their_for_duration_keep_one_alert_through_reason_changes_need_every_replica_down_or_none_leading_and_page_on_failing_reconciles_not_on_failing_credentials()
    {
        var directory = Directory.CreateTempSubdirectory("passbox-promtool-").FullName;
        try
        {
            var groups = ShippingManifests.HelmDocuments("metrics.prometheusRule.enabled=true").OfKind("PrometheusRule").Single()["spec"]!["groups"]!;
            File.WriteAllText(Path.Combine(directory, "rules.yml"), new JsonObject { ["groups"] = groups.DeepClone() }.ToJsonString());
            File.WriteAllText(Path.Combine(directory, "tests.yml"), RuleUnitTests);

            ShippingTools.Run("/usr/bin/promtool", ["check", "rules", "rules.yml"], workingDirectory: directory)
                .Should().Contain("SUCCESS: 5 rules found");
            var result = ShippingTools.TryRun("/usr/bin/promtool", ["test", "rules", "tests.yml"], workingDirectory: directory);
            result.ExitCode.Should().Be(0, "promtool said:\n{0}\n{1}", result.StandardOutput, result.StandardError);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Samples every minute for 30 minutes against the chart's defaults (15m, 10m), evaluated every 30 seconds as the
    /// Prometheus Operator's default evaluationInterval has it (not in step with the samples, as in a real Prometheus). Credentials: a refused login
    /// throughout (a second replica, its watch behind, still says Ready), one whose reason moves from Unreachable to
    /// Timeout at minute 10, one fixed at minute 10, and the same name Ready in another namespace; labelled as the
    /// ServiceMonitor's scrape keeps them.
    /// Expiry: a credential whose two replicas export an end 15 days after the start warns from the day after (14 days
    /// left), one a year away does not.
    /// The operator: one of two replicas down (no alert), the only one down from minute 5, and no target at all.
    /// Leadership: a leader that goes at minute 5 and a standby that takes over (no alert), and a leader that loses its
    /// lease at minute 5 with no replica taking it while another release's operator leads its own.
    /// Reconcile errors: the operator's status patches refused throughout (its role lost patch on the status, while the
    /// credentials still say Ready) pages after 15 minutes; an API server restart's three minutes of errors, credentials
    /// whose logins are refused however long (their reconciles back off without an error), and another release's
    /// errors do not. One credential alone whose status patch is refused, retried at the backoff's cap (every 5 minutes),
    /// pages too: a 5-minute window read 0 between two of its errors, so the alert never got through its for.
    /// </summary>
    private const string RuleUnitTests = """
        rule_files: [rules.yml]
        evaluation_interval: 30s
        tests:
          - interval: 1m
            input_series:
              - series: 'passbox_credential_ready{kind="ClusterCredential",namespace="team-a",name="orders-db",reason="AuthenticationFailed",pod="passbox-1"}'
                values: '0x30'
              - series: 'passbox_credential_ready{kind="ClusterCredential",namespace="team-a",name="orders-db",reason="Validated",pod="passbox-2"}'
                values: '1x30'
              - series: 'passbox_credential_ready{kind="ClusterCredential",namespace="team-b",name="orders-db",reason="Validated",pod="passbox-1"}'
                values: '1x30'
              - series: 'passbox_credential_ready{kind="PipelineCredential",namespace="team-a",name="git",reason="Unreachable",pod="passbox-1"}'
                values: '0x9 stale'
              - series: 'passbox_credential_ready{kind="PipelineCredential",namespace="team-a",name="git",reason="Timeout",pod="passbox-1"}'
                values: '_x10 0x20'
              - series: 'passbox_credential_ready{kind="PipelineCredential",namespace="team-a",name="registry",reason="Unreachable",pod="passbox-1"}'
                values: '0x9 stale'
              - series: 'passbox_credential_ready{kind="PipelineCredential",namespace="team-a",name="registry",reason="Validated",pod="passbox-1"}'
                values: '_x10 1x20'
            alert_rule_test:
              - eval_time: 14m
                alertname: PassboxCredentialNotReady
                exp_alerts: []
              - eval_time: 16m
                alertname: PassboxCredentialNotReady
                exp_alerts:
                  - exp_labels: {severity: warning, kind: ClusterCredential, namespace: team-a, name: orders-db}
                    exp_annotations:
                      summary: 'ClusterCredential team-a/orders-db is not Ready'
                      description: 'The last check failed or its Secret is not in sync: workloads keep the last good Secret, if there is one, and changes are not applied. kubectl -n team-a describe clustercredential orders-db says why and what to do.'
                  - exp_labels: {severity: warning, kind: PipelineCredential, namespace: team-a, name: git}
                    exp_annotations:
                      summary: 'PipelineCredential team-a/git is not Ready'
                      description: 'The last check failed or its Secret is not in sync: workloads keep the last good Secret, if there is one, and changes are not applied. kubectl -n team-a describe pipelinecredential git says why and what to do.'
          - interval: 1m
            input_series:
              - series: 'passbox_credential_expiry_timestamp_seconds{kind="PipelineCredential",namespace="team-a",name="deploy",pod="passbox-1"}'
                values: '1296000x2000'
              - series: 'passbox_credential_expiry_timestamp_seconds{kind="PipelineCredential",namespace="team-a",name="deploy",pod="passbox-2"}'
                values: '1296000x2000'
              - series: 'passbox_credential_expiry_timestamp_seconds{kind="PipelineCredential",namespace="team-b",name="deploy",pod="passbox-1"}'
                values: '31536000x2000'
            alert_rule_test:
              - eval_time: 23h
                alertname: PassboxCredentialExpiresSoon
                exp_alerts: []
              - eval_time: 26h
                alertname: PassboxCredentialExpiresSoon
                exp_alerts:
                  - exp_labels: {severity: warning, kind: PipelineCredential, namespace: team-a, name: deploy}
                    exp_annotations:
                      summary: 'PipelineCredential team-a/deploy expires in 13d 22h 0m 0s'
                      description: 'Its checked credentials (a kubeconfig token or client certificate) stop working then; after that its checks fail and the last good Secret is kept. Put renewed ones in its source Secret: kubectl -n team-a get pipelinecredential deploy shows when (EXPIRES).'
          - interval: 1m
            input_series:
              - series: 'up{job="passbox-metrics",namespace="passbox-system",pod="passbox-1"}'
                values: '1x4 0x30'
              - series: 'up{job="passbox-metrics",namespace="passbox-system",pod="passbox-2"}'
                values: '1x30'
            alert_rule_test:
              - eval_time: 20m
                alertname: PassboxOperatorDown
                exp_alerts: []
          - interval: 1m
            input_series:
              - series: 'up{job="passbox-metrics",namespace="passbox-system",pod="passbox-1"}'
                values: '1x4 0x30'
            alert_rule_test:
              - eval_time: 14m
                alertname: PassboxOperatorDown
                exp_alerts: []
              - eval_time: 16m
                alertname: PassboxOperatorDown
                exp_alerts:
                  - exp_labels: {severity: warning, job: passbox-metrics, namespace: passbox-system}
                    exp_annotations: &operator-down
                      summary: 'No Passbox operator is scraped in passbox-system'
                      description: 'Prometheus has no reachable target of job passbox-metrics in namespace passbox-system: credentials are not checked, their Secrets not repaired, and PassboxCredentialNotReady cannot fire. kubectl -n passbox-system get pods,servicemonitor says whether the operator or its scrape is missing.'
          - interval: 1m
            input_series:
              - series: 'up{job="some-other-app",namespace="passbox-system"}'
                values: '1x30'
            alert_rule_test:
              - eval_time: 11m
                alertname: PassboxOperatorDown
                exp_alerts:
                  - exp_labels: {severity: warning, job: passbox-metrics, namespace: passbox-system}
                    exp_annotations: *operator-down
          - interval: 1m
            input_series:
              - series: 'passbox_leader{job="passbox-metrics",namespace="passbox-system",pod="passbox-1"}'
                values: '1x4 stale'
              - series: 'passbox_leader{job="passbox-metrics",namespace="passbox-system",pod="passbox-2"}'
                values: '0x5 1x25'
              - series: 'passbox_leader{job="passbox-metrics",namespace="passbox-system",pod="passbox-3"}'
                values: '0x30'
            alert_rule_test:
              - eval_time: 30m
                alertname: PassboxOperatorNotLeading
                exp_alerts: []
          - interval: 1m
            input_series:
              - series: 'passbox_leader{job="passbox-metrics",namespace="passbox-system",pod="passbox-1"}'
                values: '1x4 0x30'
              - series: 'passbox_leader{job="passbox-metrics",namespace="passbox-system",pod="passbox-2"}'
                values: '0x30'
              - series: 'passbox_leader{job="other-passbox-metrics",namespace="passbox-system",pod="other-passbox-1"}'
                values: '1x30'
            alert_rule_test:
              - eval_time: 14m
                alertname: PassboxOperatorNotLeading
                exp_alerts: []
              - eval_time: 16m
                alertname: PassboxOperatorNotLeading
                exp_alerts:
                  - exp_labels: {severity: warning, job: passbox-metrics, namespace: passbox-system}
                    exp_annotations:
                      summary: 'No Passbox operator in passbox-system holds the leader lease'
                      description: 'The operators of job passbox-metrics are scraped but none leads, so none reconciles: credentials are not checked, their Secrets not repaired or updated, and credentials that were Ready stay so. kubectl -n passbox-system get lease passbox-operator names the holder (another process using this lease name, or one that cannot be reached); the operators log each "Leader election error" with its cause.'
          - interval: 1m
            input_series:
              - series: 'passbox_reconcile_errors_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="ClusterCredential"}'
                values: '0+4x30'
              - series: 'passbox_reconcile_errors_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="PipelineCredential"}'
                values: '0x30'
              - series: 'passbox_credential_ready{kind="ClusterCredential",namespace="team-a",name="orders-db",reason="Validated",pod="passbox-1"}'
                values: '1x30'
            alert_rule_test:
              - eval_time: 14m
                alertname: PassboxReconcileErrors
                exp_alerts: []
              - eval_time: 17m
                alertname: PassboxReconcileErrors
                exp_alerts:
                  - exp_labels: {severity: warning, kind: ClusterCredential, job: passbox-metrics, namespace: passbox-system}
                    exp_annotations:
                      summary: 'Reconciles of ClusterCredential keep failing in the Passbox operator of passbox-system'
                      description: 'The operator of job passbox-metrics has failed to reconcile ClusterCredential objects (an error, not a failed check of a credential) in every 10 minutes for 15m: it cannot write what it decided, so statuses, Secrets and deletions are not kept up, and credentials may still say Ready. Its log names each failure ("Reconcile of ClusterCredential <namespace>/<name> failed") with the request and the answer, a 403 naming the missing permission; the README runbook of PassboxReconcileErrors says what to check.'
          - interval: 1m
            input_series:
              - series: 'passbox_reconcile_errors_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="PipelineCredential"}'
                values: '0x9 40 80 120 120x17'
              - series: 'passbox_reconcile_errors_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="ClusterCredential"}'
                values: '0x30'
              - series: 'passbox_reconcile_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="ClusterCredential",result="backoff"}'
                values: '0+50x30'
              - series: 'passbox_checks_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="ClusterCredential",reason="AuthenticationFailed"}'
                values: '0+50x30'
              - series: 'passbox_credential_ready{kind="ClusterCredential",namespace="team-a",name="orders-db",reason="AuthenticationFailed",pod="passbox-1"}'
                values: '0x30'
              - series: 'passbox_reconcile_errors_total{job="other-passbox-metrics",namespace="passbox-system",pod="other-passbox-1",kind="ClusterCredential"}'
                values: '0+4x30'
            alert_rule_test:
              - eval_time: 16m
                alertname: PassboxReconcileErrors
                exp_alerts: []
              - eval_time: 30m
                alertname: PassboxReconcileErrors
                exp_alerts: []
          - interval: 1m
            input_series:
              - series: 'passbox_reconcile_errors_total{job="passbox-metrics",namespace="passbox-system",pod="passbox-1",kind="ClusterCredential"}'
                values: '0 1x4 2x4 3x4 4x4 5x4 6x4 7x4 8x4 9x4 10x4 11x4 12x4'
            alert_rule_test:
              - eval_time: 25m
                alertname: PassboxReconcileErrors
                exp_alerts:
                  - exp_labels: {severity: warning, kind: ClusterCredential, job: passbox-metrics, namespace: passbox-system}
                    exp_annotations:
                      summary: 'Reconciles of ClusterCredential keep failing in the Passbox operator of passbox-system'
                      description: 'The operator of job passbox-metrics has failed to reconcile ClusterCredential objects (an error, not a failed check of a credential) in every 10 minutes for 15m: it cannot write what it decided, so statuses, Secrets and deletions are not kept up, and credentials may still say Ready. Its log names each failure ("Reconcile of ClusterCredential <namespace>/<name> failed") with the request and the answer, a 403 naming the missing permission; the README runbook of PassboxReconcileErrors says what to check.'
              - eval_time: 55m
                alertname: PassboxReconcileErrors
                exp_alerts:
                  - exp_labels: {severity: warning, kind: ClusterCredential, job: passbox-metrics, namespace: passbox-system}
                    exp_annotations:
                      summary: 'Reconciles of ClusterCredential keep failing in the Passbox operator of passbox-system'
                      description: 'The operator of job passbox-metrics has failed to reconcile ClusterCredential objects (an error, not a failed check of a credential) in every 10 minutes for 15m: it cannot write what it decided, so statuses, Secrets and deletions are not kept up, and credentials may still say Ready. Its log names each failure ("Reconcile of ClusterCredential <namespace>/<name> failed") with the request and the answer, a 403 naming the missing permission; the README runbook of PassboxReconcileErrors says what to check.'
        """;

    /// <summary>The chart with its ServiceMonitor and its alerts, which fire as soon as their condition holds.</summary>
    private static IReadOnlyList<JsonObject> AlertingChart() => ShippingManifests.HelmDocuments(
        "metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true", "metrics.prometheusRule.for=0s", "metrics.prometheusRule.operatorDownFor=0s");

    private static bool IsAlertFor(IReadOnlyDictionary<string, string> labels, string ns) =>
        labels.GetValueOrDefault("alertname") == Alert && labels.GetValueOrDefault("namespace") == ns && labels.GetValueOrDefault("name") == "deploy-token";

    /// <summary>
    /// The scrape job the Prometheus Operator generates from the chart's ServiceMonitor, reduced to what matters here:
    /// its path and honorLabels, and the target labels its relabelling puts on every series (the job named after the
    /// Service, the operator pod's namespace among them).
    /// </summary>
    private static JsonObject ScrapeJobAsTheOperatorOfPrometheusWrites(IReadOnlyList<JsonObject> chart, Uri target)
    {
        var endpoint = chart.OfKind("ServiceMonitor").Single()["spec"]!["endpoints"]![0]!;
        return new JsonObject
        {
            ["job_name"] = "passbox",
            ["metrics_path"] = (string)endpoint["path"]!,
            ["honor_labels"] = endpoint["honorLabels"]?.GetValue<bool>() ?? false,
            ["static_configs"] = new JsonArray(new JsonObject
            {
                ["targets"] = new JsonArray(target.Authority),
                ["labels"] = new JsonObject
                {
                    ["job"] = MetricsJob,
                    ["namespace"] = ShippingManifests.DefaultNamespace,
                    ["pod"] = "passbox-7d9f8-x2x4q",
                    ["service"] = MetricsJob,
                },
            }),
        };
    }
}
