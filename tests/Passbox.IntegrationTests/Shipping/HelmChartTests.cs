using System.Text.Json.Nodes;

namespace Passbox.IntegrationTests.Shipping;

public sealed class HelmChartTests
{
    private static readonly string[] ExpectedCrds = ["clustercredentials.passbox.dev", "pipelinecredentials.passbox.dev"];

    public static TheoryData<string, string[]> Variations => new()
    {
        { "defaults", [] },
        { "without CRDs", ["crds.enabled=false"] },
        { "CRDs not kept", ["crds.keep=false"] },
        { "two replicas", ["replicaCount=2"] },
        { "ServiceMonitor", ["metrics.serviceMonitor.enabled=true"] },
        { "PrometheusRule", ["metrics.prometheusRule.enabled=true"] },
        { "one namespace, debug logs", ["watchNamespace=team-a", "logLevel=Debug"] },
        { "egress proxy", ["proxy.https=http://proxy.corp.example:3128", "proxy.http=http://proxy.corp.example:3128"] },
    };

    [Theory]
    [MemberData(nameof(Variations))]
    public void Lint_passes(string variation, string[] values)
    {
        var result = ShippingManifests.LintHelmChart(values);

        result.ExitCode.Should().Be(0, $"helm lint with {variation} said:\n{result.StandardOutput}{result.StandardError}");
        result.StandardOutput.Should().NotContain("[WARNING]").And.NotContain("[ERROR]");
    }

    [Theory]
    [MemberData(nameof(Variations))]
    public void Template_renders_the_operator(string variation, string[] values)
    {
        var docs = ShippingManifests.HelmDocuments(values);

        docs.OfKind("Deployment").Should().ContainSingle(variation);
        docs.OfKind("ServiceAccount").Should().ContainSingle(variation);
        docs.OfKind("ClusterRole").Should().ContainSingle(variation);
        docs.OfKind("ClusterRoleBinding").Should().ContainSingle(variation);
        // One watched namespace adds a Role of its own there, beside the lease's.
        var roles = values.Any(v => v.StartsWith("watchNamespace=", StringComparison.Ordinal)) ? 2 : 1;
        docs.OfKind("Role").Should().HaveCount(roles, variation);
        docs.OfKind("RoleBinding").Should().HaveCount(roles, variation);
        docs.OfKind("Service").Should().ContainSingle(variation);
    }

    [Fact]
    public void Default_names_match_the_kustomize_config()
    {
        var docs = ShippingManifests.HelmDocuments();

        docs.OfKind("Deployment", "passbox").Should().ContainSingle();
        docs.OfKind("ServiceAccount", "passbox").Should().ContainSingle();
        docs.OfKind("ClusterRole", "passbox").Should().ContainSingle();
        docs.OfKind("Role", "passbox-leader-election").Should().ContainSingle();
        docs.OfKind("Service", "passbox-metrics").Should().ContainSingle();
    }

    [Fact]
    public void Deployment_runs_under_the_restricted_pod_security_standard()
    {
        var pod = PodSpec(ShippingManifests.HelmDocuments());
        var container = pod["containers"]!.AsArray().Single()!;

        pod["securityContext"]!["runAsNonRoot"]!.GetValue<bool>().Should().BeTrue();
        pod["securityContext"]!["seccompProfile"]!["type"]!.GetValue<string>().Should().Be("RuntimeDefault");
        var security = container["securityContext"]!;
        security["runAsNonRoot"]!.GetValue<bool>().Should().BeTrue();
        security["readOnlyRootFilesystem"]!.GetValue<bool>().Should().BeTrue();
        security["allowPrivilegeEscalation"]!.GetValue<bool>().Should().BeFalse();
        security["capabilities"]!["drop"]!.AsArray().Select(c => (string)c!).Should().Equal("ALL");
        security["capabilities"]!["add"].Should().BeNull();
        security["seccompProfile"]!["type"]!.GetValue<string>().Should().Be("RuntimeDefault");
        security["privileged"].Should().BeNull();
    }

    [Fact]
    public void Deployment_mounts_a_writable_tmp_because_the_root_file_system_is_read_only()
    {
        var pod = PodSpec(ShippingManifests.HelmDocuments());
        var mount = pod["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => (string?)m!["mountPath"] == "/tmp")!;

        var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == (string?)mount["name"])!;
        volume["emptyDir"].Should().NotBeNull();
    }

    [Fact]
    public void Deployment_probes_healthz_and_readyz_on_the_metrics_port()
    {
        var container = PodSpec(ShippingManifests.HelmDocuments())["containers"]![0]!;

        ((string?)container["livenessProbe"]!["httpGet"]!["path"]).Should().Be("/healthz");
        ((string?)container["readinessProbe"]!["httpGet"]!["path"]).Should().Be("/readyz");
        var port = container["ports"]!.AsArray().Single()!;
        ((string?)port["name"]).Should().Be("http-metrics");
        ((string?)container["livenessProbe"]!["httpGet"]!["port"]).Should().Be("http-metrics");
        ((string?)container["readinessProbe"]!["httpGet"]!["port"]).Should().Be("http-metrics");
        Env(container)["ASPNETCORE_HTTP_PORTS"]!["value"]!.GetValue<string>()
            .Should().Be(port["containerPort"]!.GetValue<double>().ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Deployment_has_small_requests_and_a_memory_limit()
    {
        var resources = PodSpec(ShippingManifests.HelmDocuments())["containers"]![0]!["resources"]!;

        ((string?)resources["requests"]!["cpu"]).Should().NotBeNullOrEmpty();
        ((string?)resources["requests"]!["memory"]).Should().Be("128Mi");
        ((string?)resources["limits"]!["memory"]).Should().Be("256Mi");
    }

    [Fact]
    public void Deployment_passes_the_pod_identity_from_the_downward_api()
    {
        var env = Env(PodSpec(ShippingManifests.HelmDocuments())["containers"]![0]!);

        ((string?)env["POD_NAME"]!["valueFrom"]!["fieldRef"]!["fieldPath"]).Should().Be("metadata.name");
        ((string?)env["POD_NAMESPACE"]!["valueFrom"]!["fieldRef"]!["fieldPath"]).Should().Be("metadata.namespace");
        ((string?)env["Logging__LogLevel__Default"]!["value"]).Should().Be("Information");
        env.Should().NotContainKey("PASSBOX_WATCH_NAMESPACE", "the default watches every namespace");
    }

    [Fact]
    public void Values_reach_the_container()
    {
        var container = PodSpec(ShippingManifests.HelmDocuments(
            "watchNamespace=team-a", "logLevel=Debug", "image.tag=1.2.3", "extraEnv[0].name=EXTRA", "extraEnv[0].value=x"))["containers"]![0]!;
        var env = Env(container);

        ((string?)env["PASSBOX_WATCH_NAMESPACE"]!["value"]).Should().Be("team-a");
        ((string?)env["Logging__LogLevel__Default"]!["value"]).Should().Be("Debug");
        ((string?)env["EXTRA"]!["value"]).Should().Be("x");
        ((string?)container["image"]).Should().Be("passbox-operator:1.2.3");
    }

    [Fact]
    public void Worker_and_session_limits_reach_the_operator_flags()
    {
        var defaults = PodSpec(ShippingManifests.HelmDocuments())["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!);
        var tuned = PodSpec(ShippingManifests.HelmDocuments("workers=8", "maxSessionsPerEndpoint=2"))["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!);

        defaults.Should().Contain(["--workers=4", "--max-sessions-per-endpoint=4"], "the chart's defaults are the operator's own");
        tuned.Should().Contain(["--workers=8", "--max-sessions-per-endpoint=2"]);
    }

    [Theory]
    [InlineData("workers=0")]
    [InlineData("maxSessionsPerEndpoint=0")]
    [InlineData("maxSessionsPerEndpoint=many")]
    public void Worker_and_session_limits_below_one_are_refused_by_the_schema(string value)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm, ["template", "passbox", ShippingManifests.ChartPath, "--set", value]);

        result.ExitCode.Should().NotBe(0);
        result.StandardError.Should().Contain(value.Split('=')[0], "the refusal names the value to fix");
    }

    [Fact]
    public void The_pods_grace_period_is_a_value_and_the_operator_is_told_it()
    {
        var defaults = PodSpec(ShippingManifests.HelmDocuments());
        var raised = PodSpec(ShippingManifests.HelmDocuments("terminationGracePeriodSeconds=120"));

        defaults["terminationGracePeriodSeconds"]!.GetValue<double>().Should().Be(30);
        defaults["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!).Should().Contain("--termination-grace-period-seconds=30");
        raised["terminationGracePeriodSeconds"]!.GetValue<double>().Should().Be(120);
        raised["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!)
            .Should().Contain("--termination-grace-period-seconds=120", "the operator fits its graceful stop to the grace period the kubelet gives");
    }

    [Theory]
    [InlineData("terminationGracePeriodSeconds=10")]
    [InlineData("terminationGracePeriodSeconds=30s")]
    public void A_grace_period_too_short_for_the_graceful_stop_is_refused_by_the_schema(string value)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm, ["template", "passbox", ShippingManifests.ChartPath, "--set", value]);

        result.ExitCode.Should().NotBe(0);
        result.StandardError.Should().Contain("terminationGracePeriodSeconds", "the refusal names the value to fix");
    }

    /// <summary>
    /// Values of the wrong shape that the schema let through: Helm rendered them, and the install then failed at the API
    /// server on a Deployment or Service field the user never wrote (a cpu of "lots", resource names from a full name
    /// with "_"), went through and failed later (an image reference with a space, or a tag in the repository, never
    /// pulls), or was changed without a word (a full name over 63 characters was cut, so two long ones could name the same
    /// objects). Each is refused before anything is sent, naming the value.
    /// </summary>
    [Theory]
    [InlineData("/resources/requests/cpu", "--set", "resources.requests.cpu=lots")]
    [InlineData("/resources/requests/memory", "--set", "resources.requests.memory=-1Gi")]
    [InlineData("/resources/limits/memory", "--set", "resources.limits.memory=true")]
    [InlineData("/resources/requests", "--set-json", """resources={"requests":{"cpu ":"1"}}""")]
    [InlineData("/resources/claims/0", "--set-json", """resources={"claims":[{"nme":"gpu"}]}""")]
    [InlineData("/fullnameOverride", "--set", "fullnameOverride=passbox-operator-of-the-platform-team-for-every-cluster-in-the-fleet")]
    [InlineData("/fullnameOverride", "--set", "fullnameOverride=Passbox_Operator")]
    [InlineData("/nameOverride", "--set", "nameOverride=pass.box")]
    [InlineData("/image/repository", "--set", "image.repository=Registry Example/passbox")]
    [InlineData("/image/tag", "--set", "image.tag=0.1.0:latest")]
    [InlineData("/extraEnv/0", "--set-json", """extraEnv=[{"name":"TZ","valu":"UTC"}]""")]
    [InlineData("/extraEnv/0/value", "--set-json", """extraEnv=[{"name":"GOMAXPROCS","value":2}]""")]
    [InlineData("/serviceAccount/name", "--set", "serviceAccount.name=Passbox_Operator")]
    [InlineData("/priorityClassName", "--set", "priorityClassName=High Priority")]
    [InlineData("/imagePullSecrets/0/name", "--set-json", """imagePullSecrets=[{"name":"Reg_Cred"}]""")]
    [InlineData("/podLabels/team", "--set", "podLabels.team=payments and billing")]
    [InlineData("/podLabels", "--set-json", """podLabels={"team name":"payments"}""")]
    [InlineData("/nodeSelector", "--set-json", """nodeSelector={"node role":"infra"}""")]
    [InlineData("/podAnnotations", "--set-json", """podAnnotations={"prometheus.io/scrape!":"true"}""")]
    [InlineData("/metrics/prometheusRule/alertLabels", "--set-json", """metrics={"prometheusRule":{"alertLabels":{"pager-duty":"team-a"}}}""")]
    public void Values_of_the_wrong_shape_are_refused_by_the_schema_naming_the_value(string field, string flag, string value)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm, ["template", "passbox", ShippingManifests.ChartPath, flag, value]);

        result.ExitCode.Should().NotBe(0, "helm rendered {0}", value);
        result.StandardError.Should().Contain("values don't meet the specifications of the schema")
            .And.Contain($"at '{field}'", "the refusal names the value to fix");
    }

    /// <summary>What the schema must keep taking: the forms of quantities, image references and keys Kubernetes accepts.</summary>
    [Theory]
    [InlineData("--set-json", """resources={"requests":{"cpu":"250m","memory":"128Mi","ephemeral-storage":"1G"},"limits":{"cpu":1,"memory":"1e9","hugepages-2Mi":"10Mi","example.com/gpu":"1"}}""")]
    [InlineData("--set-json", """resources={"requests":{"cpu":0.5,"memory":".5Gi"},"claims":[{"name":"gpu","request":"a100"}]}""")]
    [InlineData("--set", "fullnameOverride=ooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo-x")]
    [InlineData("--set", "nameOverride=secrets")]
    [InlineData("--set", "image.repository=registry.example.com:5000/platform/passbox-operator,image.tag=v0.1.0-rc.1_amd64")]
    [InlineData("--set", "image.repository=localhost:5000/passbox-operator,image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    // A tag pinned to its digest, as values files often write it: "repo:tag@digest" renders, and the kubelet pulls by the digest.
    [InlineData("--set", "image.tag=v0.1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("--set-json", """extraEnv=[{"name":"TZ","value":"UTC"},{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]""")]
    [InlineData("--set", "serviceAccount.name=passbox-operator,priorityClassName=system-cluster-critical")]
    [InlineData("--set-json", """podLabels={"team":"payments","app.example.com/tier":"platform_1","empty":""}""")]
    [InlineData("--set-json", """podAnnotations={"prometheus.io/scrape":"true","description":"any text: it is an annotation"}""")]
    [InlineData("--set-json", """nodeSelector={"kubernetes.io/os":"linux","node-role.kubernetes.io/infra":""}""")]
    public void Values_of_the_forms_Kubernetes_takes_pass_the_schema(string flag, string value)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm, ["template", "passbox", ShippingManifests.ChartPath, flag, value]);

        result.ExitCode.Should().Be(0, "helm refused {0}:\n{1}", value, result.StandardError);
    }

    /// <summary>
    /// A full name starting with a digit names objects that all take one (Deployment, ServiceAccount, Lease, roles: DNS
    /// labels or subdomains). Values files with one installed before the schema refused it for every install; only
    /// the metrics Service's name had to start with a letter, and only before Kubernetes 1.36.
    /// </summary>
    [Fact]
    public void A_full_name_starting_with_a_digit_is_taken_where_no_Service_name_forbids_it()
    {
        var withoutService = ShippingManifests.HelmDocuments("fullnameOverride=1passbox", "metrics.service.enabled=false");

        withoutService.OfKind("Deployment", "1passbox").Should().ContainSingle();
        withoutService.OfKind("ServiceAccount", "1passbox").Should().ContainSingle();
        withoutService.OfKind("ClusterRole", "1passbox").Should().ContainSingle();
        withoutService.OfKind("Role", "1passbox-leader-election").Should().ContainSingle();
        withoutService.OfKind("Service").Should().BeEmpty();
        ((string?)Env(PodSpec(withoutService)["containers"]![0]!)["PASSBOX_LEADER_ELECTION_NAME"]!["value"]).Should().Be("1passbox-operator");

        // From Kubernetes 1.36 (RelaxedServiceNameValidation) a Service name is a DNS label like the others.
        var onNewCluster = YamlDocuments.Parse(ShippingTools.Run(ShippingTools.Helm,
            ["template", "passbox", ShippingManifests.ChartPath, "--kube-version", "1.36.0", "--set", "fullnameOverride=1passbox"]));
        onNewCluster.OfKind("Service", "1passbox-metrics").Should().ContainSingle();
    }

    /// <summary>
    /// A metrics Service name the API server refuses is refused by the chart, naming the value it came from and what to
    /// write: before Kubernetes 1.36 it must start with a letter, and never holds a "." (a release name may).
    /// </summary>
    [Theory]
    [InlineData("passbox", "1.35.0", "fullnameOverride=1passbox", "fullnameOverride \"1passbox\"", "must start with a letter")]
    [InlineData("2fa-passbox", "1.35.0", "", "the release name \"2fa-passbox\"", "must start with a letter")]
    [InlineData("team.a", "1.36.0", "", "the release name \"team.a\"", "holds only a-z, 0-9 and -")]
    public void A_metrics_Service_name_the_cluster_refuses_is_refused_naming_its_source(
        string release, string kubeVersion, string value, string source, string rule)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm,
            ["template", release, ShippingManifests.ChartPath, "--kube-version", kubeVersion, .. value.Length == 0 ? Array.Empty<string>() : ["--set", value]]);

        result.ExitCode.Should().NotBe(0, "helm rendered a Service the API server refuses");
        result.StandardError.Should().Contain("metrics Service").And.Contain(source).And.Contain(rule)
            .And.Contain("metrics.service.enabled=false", "the refusal says how to do without the Service");
    }

    /// <summary>
    /// "repo:0.1.0" with a digest renders "repo:0.1.0@sha256:...", a reference every runtime pulls by its digest, as
    /// values files pinned the image before the schema checked the repository. Without a digest the chart's tag would
    /// be appended ("repo:0.1.0:0.1.0", never pulled): that is refused, saying what to write instead.
    /// </summary>
    [Fact]
    public void A_tag_in_the_repository_is_taken_with_a_digest_and_refused_without_one_saying_what_to_write()
    {
        const string digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var pinned = PodSpec(ShippingManifests.HelmDocuments("image.repository=registry.example.com:5000/platform/passbox-operator:0.1.0", $"image.digest={digest}"));
        ((string?)pinned["containers"]![0]!["image"]).Should().Be($"registry.example.com:5000/platform/passbox-operator:0.1.0@{digest}");

        var result = ShippingManifests.TryRenderHelmChart("image.repository=registry.example.com:5000/platform/passbox-operator:0.1.0");

        result.ExitCode.Should().NotBe(0, "helm rendered an image reference with two tags");
        result.StandardError.Should().Contain("image.repository \"registry.example.com:5000/platform/passbox-operator:0.1.0\" has a tag")
            .And.Contain("image.repository=registry.example.com:5000/platform/passbox-operator and image.tag=0.1.0")
            .And.Contain("image.digest");
        ShippingManifests.TryRenderHelmChart("image.repository=localhost:5000/passbox-operator").ExitCode
            .Should().Be(0, "a registry port is no tag");
    }

    /// <summary>
    /// An alert label named like one the alerts carry (kind, namespace, name: which credential; namespace, job: which
    /// operator) gave the alerts of credentials of one name in different namespaces one label set, which fails the
    /// rule's evaluation in Prometheus (no alert at all), or rendered a key twice. Refused, naming the value.
    /// </summary>
    [Theory]
    [InlineData("namespace")]
    [InlineData("name")]
    [InlineData("kind")]
    [InlineData("job")]
    public void An_alert_label_the_alerts_set_themselves_is_refused_naming_it(string label)
    {
        var result = ShippingManifests.TryRenderHelmChart(
            "metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true", $"metrics.prometheusRule.alertLabels.{label}=platform");

        result.ExitCode.Should().NotBe(0, "helm rendered alertLabels.{0}", label);
        result.StandardError.Should().Contain($"metrics.prometheusRule.alertLabels.{label}").And.Contain("label of another name");
        ShippingManifests.TryRenderHelmChart($"metrics.prometheusRule.alertLabels.{label}=platform").ExitCode
            .Should().Be(0, "without the PrometheusRule the label is not used");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Leader_election_flag_follows_the_value(bool enabled)
    {
        var docs = ShippingManifests.HelmDocuments($"leaderElection.enabled={enabled.ToString().ToLowerInvariant()}");
        var args = PodSpec(docs)["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!);

        args.Should().Contain($"--leader-elect={enabled.ToString().ToLowerInvariant()}");
        docs.OfKind("Role").Should().HaveCount(enabled ? 1 : 0, "the lease Role is needed only with leader election");
    }

    [Fact]
    public void Each_release_leads_a_lease_of_its_own_and_the_usual_release_keeps_the_lease_it_always_had()
    {
        static string? Lease(string release) =>
            (string?)Env(PodSpec(YamlDocuments.Parse(ShippingManifests.RenderHelmChart(release, ShippingManifests.DefaultNamespace)))["containers"]![0]!)
                .GetValueOrDefault("PASSBOX_LEADER_ELECTION_NAME")?["value"];

        // An upgrade from a chart that named no lease must not start a second leader beside the old pod.
        Lease(ShippingManifests.DefaultRelease).Should().Be(Passbox.Operator.Runtime.LeaderElection.LeaderElectionOptions.DefaultLeaseName);
        Lease("team-a").Should().Be("team-a-passbox-operator");
        Lease("team-b").Should().Be("team-b-passbox-operator", "two releases in one namespace must not take turns leading");
    }

    [Fact]
    public void Two_replicas_run_with_leader_election()
    {
        var docs = ShippingManifests.HelmDocuments("replicaCount=2");

        docs.OfKind("Deployment").Single()["spec"]!["replicas"]!.GetValue<double>().Should().Be(2);
        PodSpec(docs)["containers"]![0]!["args"]!.AsArray().Select(a => (string)a!).Should().Contain("--leader-elect=true");
    }

    [Fact]
    public void Two_replicas_get_a_disruption_budget_and_a_spread_over_nodes_that_select_the_operator_pods()
    {
        var docs = ShippingManifests.HelmDocuments("replicaCount=2");
        var podLabels = docs.OfKind("Deployment").Single()["spec"]!["selector"]!["matchLabels"]!;

        var budget = docs.OfKind("PodDisruptionBudget").Single()["spec"]!;
        budget["maxUnavailable"]!.GetValue<double>().Should().Be(1, "a drain evicts one pod and leaves the standby to lead");
        JsonNode.DeepEquals(budget["selector"]!["matchLabels"], podLabels).Should().BeTrue("the budget must count the operator's pods");

        var spread = PodSpec(docs)["topologySpreadConstraints"]!.AsArray().Single()!;
        ((string?)spread["topologyKey"]).Should().Be("kubernetes.io/hostname");
        ((string?)spread["whenUnsatisfiable"]).Should().Be("ScheduleAnyway", "a one-node cluster must still run both pods");
        JsonNode.DeepEquals(spread["labelSelector"]!["matchLabels"], podLabels).Should().BeTrue();
    }

    [Fact]
    public void One_replica_gets_no_disruption_budget_that_would_block_drains()
    {
        var docs = ShippingManifests.HelmDocuments();

        docs.OfKind("PodDisruptionBudget").Should().BeEmpty();
        PodSpec(docs)["topologySpreadConstraints"].Should().BeNull();
    }

    [Fact]
    public void The_disruption_budget_and_the_spread_follow_the_values()
    {
        ShippingManifests.HelmDocuments("replicaCount=3", "podDisruptionBudget.maxUnavailable=50%")
            .OfKind("PodDisruptionBudget").Single()["spec"]!["maxUnavailable"]!.GetValue<string>().Should().Be("50%");
        ShippingManifests.HelmDocuments("replicaCount=2", "podDisruptionBudget.enabled=false").OfKind("PodDisruptionBudget").Should().BeEmpty();

        var zones = PodSpec(ShippingManifests.HelmDocuments("replicaCount=2",
            "topologySpreadConstraints[0].maxSkew=1", "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
            "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule"))["topologySpreadConstraints"]!.AsArray();
        ((string?)zones.Single()!["topologyKey"]).Should().Be("topology.kubernetes.io/zone", "the user's constraints replace the default");

        foreach (var wrong in new[] { "podDisruptionBudget.maxUnavailable=0", "podDisruptionBudget.maxUnavailable=half" })
        {
            var result = ShippingTools.TryRun(ShippingTools.Helm, ["template", "passbox", ShippingManifests.ChartPath, "--set", wrong]);
            result.ExitCode.Should().NotBe(0, wrong);
            result.StandardError.Should().Contain("maxUnavailable", wrong);
        }
    }

    [Fact]
    public void Two_replicas_without_leader_election_are_refused()
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm,
            ["template", "passbox", ShippingManifests.ChartPath, "--set", "replicaCount=2", "--set", "leaderElection.enabled=false"]);

        result.ExitCode.Should().NotBe(0);
        result.StandardError.Should().Contain("leaderElection.enabled");
    }

    [Fact]
    public void Unknown_values_are_rejected_by_the_schema()
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm,
            ["template", "passbox", ShippingManifests.ChartPath, "--set", "replicas=2"]);

        result.ExitCode.Should().NotBe(0);
        result.StandardError.Should().Contain("replicas");
    }

    [Fact]
    public void Lease_role_lives_in_the_release_namespace_and_is_bound_to_the_operator()
    {
        var docs = ShippingManifests.HelmDocuments();
        var role = docs.OfKind("Role").Single();
        var binding = docs.OfKind("RoleBinding").Single();

        ((string?)role["metadata"]!["namespace"]).Should().Be(ShippingManifests.DefaultNamespace);
        RbacRules.Permissions(role).Should().BeEquivalentTo(
            "coordination.k8s.io/leases:get", "coordination.k8s.io/leases:create", "coordination.k8s.io/leases:update");
        ((string?)binding["roleRef"]!["name"]).Should().Be((string?)role["metadata"]!["name"]);
        ((string?)binding["subjects"]![0]!["name"]).Should().Be("passbox");
    }

    [Fact]
    public void ServiceMonitor_is_rendered_only_when_enabled()
    {
        ShippingManifests.HelmDocuments().OfKind("ServiceMonitor").Should().BeEmpty();

        var monitor = ShippingManifests.HelmDocuments("metrics.serviceMonitor.enabled=true").OfKind("ServiceMonitor").Single();
        var endpoint = monitor["spec"]!["endpoints"]![0]!;
        ((string?)endpoint["port"]).Should().Be("http-metrics");
        ((string?)endpoint["path"]).Should().Be("/metrics");
        endpoint["honorLabels"]!.GetValue<bool>().Should().BeTrue("a credential's namespace label must not become exported_namespace");
    }

    [Theory]
    // The Prometheus Operator skips a ServiceMonitor whose scrape timeout exceeds its interval, and then nothing
    // scrapes the operator: refused at install, naming both values, instead.
    [InlineData("30s", "60s", false)]
    [InlineData("1m", "61s", false)]
    [InlineData("1h30m", "90m1ms", false)]
    [InlineData("1s", "1001ms", false)]
    [InlineData("30s", "30s", true)]
    [InlineData("1m", "59s", true)]
    [InlineData("1h30m", "90m", true)]
    [InlineData("1s", "999ms", true)]
    public void A_ServiceMonitor_whose_scrape_timeout_exceeds_its_interval_is_refused(string interval, string scrapeTimeout, bool accepted)
    {
        var result = ShippingManifests.TryRenderHelmChart("metrics.serviceMonitor.enabled=true",
            $"metrics.serviceMonitor.interval={interval}", $"metrics.serviceMonitor.scrapeTimeout={scrapeTimeout}");

        if (accepted)
        {
            result.ExitCode.Should().Be(0, result.StandardError);
            var endpoint = YamlDocuments.Parse(result.StandardOutput).OfKind("ServiceMonitor").Single()["spec"]!["endpoints"]![0]!;
            ((string?)endpoint["interval"]).Should().Be(interval);
            ((string?)endpoint["scrapeTimeout"]).Should().Be(scrapeTimeout);
        }
        else
        {
            result.ExitCode.Should().NotBe(0);
            result.StandardError.Should().Contain("metrics.serviceMonitor.scrapeTimeout").And.Contain($"({scrapeTimeout})")
                .And.Contain("metrics.serviceMonitor.interval").And.Contain($"({interval})");
        }
    }

    [Fact]
    public void PrometheusRule_is_rendered_only_when_enabled_with_the_values_duration_and_labels()
    {
        ShippingManifests.HelmDocuments().OfKind("PrometheusRule").Should().BeEmpty();

        var rule = ShippingManifests.HelmDocuments("metrics.prometheusRule.enabled=true", "metrics.prometheusRule.for=1h",
            "metrics.prometheusRule.alertLabels.severity=critical", "metrics.prometheusRule.labels.release=kube-prometheus").OfKind("PrometheusRule").Single();
        ((string?)rule["metadata"]!["labels"]!["release"]).Should().Be("kube-prometheus", "the label a Prometheus's ruleSelector picks");
        var alert = rule["spec"]!["groups"]![0]!["rules"]![0]!;
        ((string?)alert["alert"]).Should().Be("PassboxCredentialNotReady");
        ((string?)alert["for"]).Should().Be("1h");
        ((string?)alert["labels"]!["severity"]).Should().Be("critical");
    }

    [Theory]
    [InlineData("passbox", "", "passbox-metrics")]
    [InlineData("team-a", "", "team-a-passbox-metrics")]
    // The longest release name Helm takes (53): its full name is 61 characters, and "-metrics" made a Service name of 69.
    [InlineData("release-name-of-fifty-three-characters-for-the-chart1", "", "release-name-of-fifty-three-characters-for-the-chart1-p-metrics")]
    // A full name of 63 whose cut ends on "-": no "--" is left behind.
    [InlineData("passbox", "fullnameOverride=oooooooooooooooooooooooooooooooooooooooooooooooooooooo-override", "oooooooooooooooooooooooooooooooooooooooooooooooooooooo-metrics")]
    public void The_metrics_Service_name_fits_63_characters_and_the_alert_and_notes_use_it(string release, string extra, string expected)
    {
        release.Length.Should().BeLessThanOrEqualTo(53);
        string[] values = ["metrics.serviceMonitor.enabled=true", "metrics.prometheusRule.enabled=true", .. extra.Length == 0 ? Array.Empty<string>() : [extra]];
        var docs = YamlDocuments.Parse(ShippingManifests.RenderHelmChart(release, ShippingManifests.DefaultNamespace, values));

        var name = (string)docs.OfKind("Service").Single()["metadata"]!["name"]!;
        name.Should().Be(expected);
        name.Length.Should().BeLessThanOrEqualTo(63);
        name.Should().MatchRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$", "a Service name is a DNS-1035 label");
        // The ServiceMonitor selects the Service by its labels; Prometheus names the job after the Service.
        var selector = docs.OfKind("ServiceMonitor").Single()["spec"]!["selector"]!["matchLabels"]!.AsObject();
        var serviceLabels = docs.OfKind("Service").Single()["metadata"]!["labels"]!.AsObject();
        selector.Should().OnlyContain(pair => (string?)serviceLabels[pair.Key] == (string?)pair.Value);
        var down = docs.OfKind("PrometheusRule").Single()["spec"]!["groups"]![0]!["rules"]!.AsArray()
            .Single(r => (string?)r!["alert"] == "PassboxOperatorDown")!;
        ((string?)down["expr"]).Should().Contain($"job=\"{name}\"");
        ((string?)down["labels"]!["job"]).Should().Be(name);

        var notes = ShippingTools.Run(ShippingTools.Helm,
        [
            "install", release, ShippingManifests.ChartPath, "--namespace", ShippingManifests.DefaultNamespace, "--dry-run=client",
            "--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.enabled=false", .. extra.Length == 0 ? Array.Empty<string>() : ["--set", extra],
        ]).Split("NOTES:")[1];
        notes.Should().Contain($"\"{name}\"");
    }

    [Fact]
    public void PodLabels_add_labels_but_cannot_change_the_selector_labels()
    {
        var docs = ShippingManifests.HelmDocuments(
            "podLabels.team=payments", "podLabels.app\\.kubernetes\\.io/part-of=platform",
            "podLabels.app\\.kubernetes\\.io/name=other", "podLabels.app\\.kubernetes\\.io/instance=other", "podLabels.app\\.kubernetes\\.io/component=web");
        var deployment = docs.OfKind("Deployment").Single();
        var selector = deployment["spec"]!["selector"]!["matchLabels"]!.AsObject();
        var podLabels = deployment["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();

        selector.Select(p => p.Key).Should().BeEquivalentTo("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component");
        selector.Should().OnlyContain(pair => (string?)podLabels[pair.Key] == (string?)pair.Value, "the pod template must match the selector");
        ((string?)selector["app.kubernetes.io/name"]).Should().Be("passbox");
        ((string?)podLabels["team"]).Should().Be("payments");
        ((string?)podLabels["app.kubernetes.io/part-of"]).Should().Be("platform");
        // The Service and the budget select the same pods.
        JsonNode.DeepEquals(docs.OfKind("Service").Single()["spec"]!["selector"], selector).Should().BeTrue();
        var rendered = ShippingManifests.RenderHelmChart("podLabels.app\\.kubernetes\\.io/part-of=platform");
        rendered.Split('\n').Count(line => line.Trim() == "app.kubernetes.io/part-of: platform").Should().Be(1, "no label key is written twice");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Install_notes_warn_when_the_operator_down_alert_has_no_ServiceMonitor_to_watch(bool serviceMonitor)
    {
        var notes = ShippingTools.Run(ShippingTools.Helm,
        [
            "install", "passbox", ShippingManifests.ChartPath, "--namespace", ShippingManifests.DefaultNamespace, "--dry-run=client",
            "--set", "metrics.prometheusRule.enabled=true", "--set", $"metrics.serviceMonitor.enabled={serviceMonitor.ToString().ToLowerInvariant()}",
        ]).Split("NOTES:")[1];

        notes.Should().Contain("PassboxCredentialNotReady").And.Contain("PassboxCredentialExpiresSoon").And.Contain("PassboxOperatorDown").And.Contain("PassboxOperatorNotLeading");
        if (serviceMonitor)
        {
            notes.Should().NotContain("Warning");
        }
        else
        {
            notes.Should().Contain("Warning: metrics.serviceMonitor.enabled=false").And.Contain("\"passbox-metrics\"");
        }
    }

    [Fact]
    public void Install_notes_say_which_namespace_a_single_namespace_release_watches()
    {
        string Notes(params string[] values) => ShippingTools.Run(ShippingTools.Helm,
        [
            "install", "passbox", ShippingManifests.ChartPath, "--namespace", ShippingManifests.DefaultNamespace, "--dry-run=client",
            .. values.SelectMany(v => new[] { "--set", v }),
        ]).Split("NOTES:")[1];

        Notes("watchNamespace=team-a").Should().Contain("only credentials in namespace team-a are checked");
        Notes().Should().NotContain("watchNamespace");
    }

    [Fact]
    public void Crds_are_rendered_only_when_enabled()
    {
        CrdNames(ShippingManifests.HelmDocuments()).Should().BeEquivalentTo(ExpectedCrds);
        CrdNames(ShippingManifests.HelmDocuments("crds.enabled=false")).Should().BeEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Crds_carry_the_keep_policy_only_when_asked(bool keep)
    {
        var crds = ShippingManifests.HelmDocuments($"crds.keep={keep.ToString().ToLowerInvariant()}").OfKind("CustomResourceDefinition");

        crds.Should().HaveCount(ExpectedCrds.Length);
        foreach (var crd in crds)
        {
            var policy = (string?)crd["metadata"]!["annotations"]?["helm.sh/resource-policy"];
            policy.Should().Be(keep ? "keep" : null);
            // Argo CD renders with helm template and ignores the Helm policy: deleting its Application would delete the CRDs
            // (Delete=false stops that), and so would a sync that prunes them once crds.enabled is turned off (Prune=false).
            var syncOptions = (string?)crd["metadata"]!["annotations"]?["argocd.argoproj.io/sync-options"];
            syncOptions.Should().Be(keep ? "Prune=false,Delete=false" : null);
        }
    }

    [Theory]
    [InlineData("Prune=false", "Prune=false,Delete=false")]
    [InlineData("Prune=false\\,Delete=false", "Prune=false,Delete=false")]
    [InlineData("Delete=true", "Delete=true,Prune=false")]
    [InlineData("Prune=confirm\\,ServerSideApply=true", "Prune=confirm,ServerSideApply=true,Delete=false")]
    [InlineData("Prune=true\\,Delete=true", "Prune=true,Delete=true")]
    public void Kept_crds_add_Prune_false_and_Delete_false_to_the_Argo_CD_sync_options_given_unless_they_say_Prune_or_Delete(string given, string rendered)
    {
        var crds = ShippingManifests.HelmDocuments($"crds.annotations.argocd\\.argoproj\\.io/sync-options={given}", "crds.annotations.team=payments")
            .OfKind("CustomResourceDefinition");

        crds.Should().HaveCount(ExpectedCrds.Length);
        foreach (var crd in crds)
        {
            var annotations = crd["metadata"]!["annotations"]!;
            ((string?)annotations["argocd.argoproj.io/sync-options"]).Should().Be(rendered);
            ((string?)annotations["helm.sh/resource-policy"]).Should().Be("keep");
            ((string?)annotations["team"]).Should().Be("payments");
        }
    }

    /// <summary>
    /// <c>helm show readme</c> printed nothing: the chart had no README. It is what users read on a chart registry, so
    /// each top-level value must appear there, or an option added to values.yaml goes undocumented.
    /// </summary>
    [Fact]
    public void Chart_readme_is_packaged_and_names_every_top_level_value()
    {
        var readme = ShippingTools.Run(ShippingTools.Helm, ["show", "readme", ShippingManifests.ChartPath]);
        var values = File.ReadAllLines(ShippingTools.PathInRepo(ShippingManifests.ChartPath, "values.yaml"));
        var topLevelKeys = values
            .Where(line => line.Length > 0 && char.IsAsciiLetter(line[0]) && line.Contains(':', StringComparison.Ordinal))
            .Select(line => line[..line.IndexOf(':', StringComparison.Ordinal)])
            .ToList();

        topLevelKeys.Should().Contain("image", "the check must see the keys of values.yaml");
        foreach (var key in topLevelKeys)
        {
            readme.Should().Contain($"`{key}", $"charts/passbox/README.md must document the value {key}");
        }
    }

    [Fact]
    public void Chart_crd_files_are_byte_copies_of_the_generated_crds()
    {
        var generated = ShippingManifests.GeneratedCrdFiles();
        var chartDir = ShippingTools.PathInRepo(ShippingManifests.ChartPath, "files", "crds");
        var inChart = Directory.Exists(chartDir)
            ? Directory.GetFiles(chartDir, "*.yaml").ToDictionary(f => Path.GetFileName(f), File.ReadAllText)
            : [];

        inChart.Keys.Should().BeEquivalentTo(generated.Keys, "run `bash hack/sync-chart-crds.sh` after `make manifests`");
        foreach (var (name, text) in generated)
        {
            inChart[name].Should().Be(text, $"charts/passbox/files/crds/{name} must equal crds/{name}: run `bash hack/sync-chart-crds.sh`");
        }
    }

    [Fact]
    public void Rendered_crds_equal_the_generated_crds_apart_from_labels_and_annotations()
    {
        var generated = ShippingManifests.GeneratedCrdFiles().Values
            .Select(YamlDocuments.ParseSingle)
            .ToDictionary(d => (string)d["metadata"]!["name"]!);
        var rendered = ShippingManifests.HelmDocuments().OfKind("CustomResourceDefinition")
            .ToDictionary(d => (string)d["metadata"]!["name"]!);

        rendered.Keys.Should().BeEquivalentTo(generated.Keys);
        foreach (var (name, source) in generated)
        {
            YamlDocuments.Canonical(WithoutLabelsAndAnnotations(rendered[name]))
                .Should().Be(YamlDocuments.Canonical(WithoutLabelsAndAnnotations(source)), name);
        }
    }

    [Fact]
    public void Sync_script_reports_no_drift()
    {
        var result = ShippingTools.TryRun("/bin/bash", [ShippingTools.PathInRepo("hack", "sync-chart-crds.sh"), "--check"]);

        result.ExitCode.Should().Be(0, result.StandardError);
    }

    [Fact]
    public void The_finalizer_policy_is_installed_only_where_the_cluster_serves_MutatingAdmissionPolicy()
    {
        ShippingManifests.HelmDocuments().OfKind("MutatingAdmissionPolicy").Should().BeEmpty("helm's default capabilities have no MutatingAdmissionPolicy API");

        var docs = ShippingManifests.HelmDocumentsOnCluster([ShippingManifests.MutatingAdmissionPolicyApi], ShippingManifests.DefaultRelease);

        var policy = docs.OfKind("MutatingAdmissionPolicy").Should().ContainSingle().Subject;
        var binding = docs.OfKind("MutatingAdmissionPolicyBinding").Should().ContainSingle().Subject;
        ((string?)binding["spec"]!["policyName"]).Should().Be((string?)policy["metadata"]!["name"]);
        binding["spec"]!.AsObject().Should().NotContainKey("matchResources", "an operator watching every namespace removes the finalizer everywhere");
        policy["spec"]!["mutations"]!.ToJsonString().Should().Contain(Passbox.Operator.Api.V1Alpha1.ApiGroup.InUseFinalizer);
        ShippingManifests.HelmDocumentsOnCluster([ShippingManifests.MutatingAdmissionPolicyApi], ShippingManifests.DefaultRelease, "finalizerPolicy.enabled=false")
            .OfKind("MutatingAdmissionPolicy").Should().BeEmpty("false turns it off");
    }

    [Fact]
    public void With_one_watched_namespace_the_finalizer_policy_binds_only_that_namespace()
    {
        var docs = ShippingManifests.HelmDocumentsOnCluster([ShippingManifests.MutatingAdmissionPolicyApi], ShippingManifests.DefaultRelease, "watchNamespace=team-a");

        var selector = docs.OfKind("MutatingAdmissionPolicyBinding").Single()["spec"]!["matchResources"]!["namespaceSelector"]!;
        ((string?)selector["matchLabels"]!["kubernetes.io/metadata.name"]).Should().Be("team-a",
            "a finalizer on a credential the operator does not watch would never be removed");
    }

    [Fact]
    public void With_one_watched_namespace_Secrets_and_workloads_are_granted_only_in_that_namespace()
    {
        var everywhere = ShippingManifests.HelmDocuments();
        var docs = ShippingManifests.HelmDocuments("watchNamespace=team-a");

        var role = docs.OfKind("Role", "passbox").Single();
        ((string?)role["metadata"]!["namespace"]).Should().Be("team-a");
        var cluster = RbacRules.Permissions(docs.OfKind("ClusterRole").Single());
        cluster.Should().OnlyContain(p => p.StartsWith("apiextensions.k8s.io/customresourcedefinitions:", StringComparison.Ordinal),
            "a single-namespace install reads nothing cluster-wide but CRDs (to learn of Tekton's and Argo's)");
        string[] clusterWideOnly = ["argoproj.io/clusterworkflowtemplates:list", "argoproj.io/clusterworkflowtemplates:watch"];
        RbacRules.Permissions(role).Union(cluster).Should().BeEquivalentTo(
            RbacRules.Permissions(everywhere.OfKind("ClusterRole").Single()).Except(clusterWideOnly),
            "the same permissions, split by scope, but for the cluster-scoped kind only an operator watching every namespace reads");

        var binding = docs.OfKind("RoleBinding", "passbox").Single();
        ((string?)binding["metadata"]!["namespace"]).Should().Be("team-a");
        ((string?)binding["roleRef"]!["kind"]).Should().Be("Role");
        var subject = binding["subjects"]!.AsArray().Single()!;
        ((string?)subject["namespace"]).Should().Be(ShippingManifests.DefaultNamespace, "the operator runs in the release namespace");
        ((string?)docs.OfKind("ClusterRoleBinding").Single()["subjects"]![0]!["name"]).Should().Be((string?)subject["name"]);
    }

    [Fact]
    public void An_egress_proxy_keeps_the_API_server_and_cluster_names_off_the_proxy()
    {
        var env = Env(PodSpec(ShippingManifests.HelmDocuments("proxy.https=http://proxy.corp.example:3128", @"proxy.noProxy=milvus.data\,10.0.0.5"))["containers"]![0]!);

        ((string?)env["HTTPS_PROXY"]["value"]).Should().Be("http://proxy.corp.example:3128");
        env.Should().NotContainKey("HTTP_PROXY", "only what was given is set");
        var exempt = ((string)env["NO_PROXY"]["value"]!).Split(',');
        exempt.Should().StartWith(["$(KUBERNETES_SERVICE_HOST)"], "the operator's own API calls go straight to the API server (Kubernetes expands the variable)")
            .And.Contain([".svc", ".cluster.local", "127.0.0.1", "milvus.data", "10.0.0.5"]);

        Env(PodSpec(ShippingManifests.HelmDocuments())["containers"]![0]!).Keys.Should().NotContain(k => k.EndsWith("_PROXY", StringComparison.Ordinal), "no proxy unless asked");
        var refused = ShippingManifests.TryRenderHelmChart("proxy.https=proxy.corp.example:3128");
        refused.ExitCode.Should().NotBe(0);
        refused.StandardError.Should().Contain("/proxy/https", "a proxy without its scheme is refused naming the field");
    }

    [Fact]
    public void A_watched_namespace_that_is_no_namespace_name_is_refused_naming_the_field()
    {
        var result = ShippingManifests.TryRenderHelmChart("watchNamespace=Team_A");

        result.ExitCode.Should().NotBe(0);
        result.StandardError.Should().Contain("/watchNamespace");
    }

    [Fact]
    public void Without_a_ServiceAccount_of_its_own_the_chart_refuses_to_grant_the_operators_rights_to_the_namespaces_default_account()
    {
        var refused = ShippingManifests.TryRenderHelmChart("serviceAccount.create=false");

        refused.ExitCode.Should().NotBe(0, "every pod of the namespace that names no account runs as \"default\"");
        refused.StandardError.Should().Contain("serviceAccount.name").And.Contain("default");

        var docs = ShippingManifests.HelmDocuments("serviceAccount.create=false", "serviceAccount.name=passbox-operator");
        docs.OfKind("ServiceAccount").Should().BeEmpty();
        ((string)PodSpec(docs)["serviceAccountName"]!).Should().Be("passbox-operator");
        docs.Where(d => (string)d["kind"]! is "ClusterRoleBinding" or "RoleBinding")
            .SelectMany(d => d["subjects"]!.AsArray())
            .Select(s => (string)s!["name"]!)
            .Should().NotBeEmpty().And.OnlyContain(name => name == "passbox-operator");
    }

    [Fact]
    public void Requiring_the_finalizer_policy_on_a_cluster_without_the_API_fails_with_a_clear_message()
    {
        var result = ShippingManifests.TryRenderHelmChart("finalizerPolicy.enabled=true");

        result.ExitCode.Should().NotBe(0);
        result.StandardError.Should().Contain("MutatingAdmissionPolicy").And.Contain("1.36").And.Contain("auto");
    }

    internal static JsonObject PodSpec(IEnumerable<JsonObject> docs) =>
        docs.OfKind("Deployment").Single()["spec"]!["template"]!["spec"]!.AsObject();

    private static Dictionary<string, JsonNode> Env(JsonNode container) =>
        container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);

    private static IEnumerable<string> CrdNames(IEnumerable<JsonObject> docs) =>
        docs.OfKind("CustomResourceDefinition").Select(d => (string)d["metadata"]!["name"]!);

    private static JsonObject WithoutLabelsAndAnnotations(JsonObject crd)
    {
        var copy = crd.DeepClone().AsObject();
        copy["metadata"]!.AsObject().Remove("labels");
        copy["metadata"]!.AsObject().Remove("annotations");
        return copy;
    }
}
