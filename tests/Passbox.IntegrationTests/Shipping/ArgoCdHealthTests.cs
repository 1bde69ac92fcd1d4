using System.Text.Json.Nodes;
using Passbox.Operator.Provisioning;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>Runs docs/argocd/health.lua with Debian's Lua 5.4 the way Argo CD runs it: `obj` set, a table returned.</summary>
public sealed class ArgoCdHealthTests
{
    private const string Script = "docs/argocd/health.lua";

    [Theory]
    [InlineData("ClusterCredential")]
    [InlineData("PipelineCredential")]
    public void Ready_true_is_healthy(string kind)
    {
        var health = Evaluate(Credential(kind, Condition("Ready", "True", "Validated", "logged in as app_rw@orders#obcluster")));

        health.Status.Should().Be("Healthy");
    }

    [Theory]
    [InlineData("ClusterCredential")]
    [InlineData("PipelineCredential")]
    public void Ready_false_with_a_failure_reason_is_degraded_with_the_message(string kind)
    {
        var health = Evaluate(Credential(kind, Condition("Ready", "False", "AuthenticationFailed", "Access denied for user 'app_rw'")));

        health.Status.Should().Be("Degraded");
        health.Message.Should().Be("AuthenticationFailed: Access denied for user 'app_rw'");
    }

    [Fact]
    public void No_status_is_progressing()
    {
        var health = Evaluate(new JsonObject
        {
            ["apiVersion"] = "passbox.dev/v1alpha1",
            ["kind"] = "ClusterCredential",
            ["metadata"] = new JsonObject { ["name"] = "orders-ob", ["namespace"] = "team-a", ["generation"] = 1 },
            ["spec"] = new JsonObject { ["engine"] = "OceanBase" },
        });

        health.Status.Should().Be("Progressing");
    }

    [Fact]
    public void Status_without_ready_is_progressing()
    {
        var credential = Credential("ClusterCredential");
        credential["status"]!.AsObject().Remove("conditions");

        Evaluate(credential).Status.Should().Be("Progressing");
    }

    [Theory]
    [InlineData("False", "Progressing")]
    [InlineData("False", "WaitingForValidation")]
    [InlineData("False", "AdminNotReady")]
    [InlineData("Unknown", "Unreachable")]
    public void Ready_not_final_yet_is_progressing(string status, string reason)
    {
        var health = Evaluate(Credential("PipelineCredential", Condition("Ready", status, reason, "checking https://github.com")));

        health.Status.Should().Be("Progressing");
        health.Message.Should().Contain("checking https://github.com");
    }

    /// <summary>
    /// A managed user whose provisioning.adminCredentialRef names no credential (a typo, an admin never applied) is
    /// AdminNotReady, a reason that also means "the admin is still being checked": Argo CD showed it Progressing forever,
    /// and a sync waiting for its health never ended. The message is the operator's own (<see cref="AdminLogins.Missing"/>).
    /// </summary>
    [Fact]
    public void A_managed_user_whose_admin_credential_does_not_exist_is_degraded_naming_it()
    {
        var message = $"cannot manage user 'app_rw': {AdminLogins.Missing("orders-admn", "team-a")}";
        var credential = Credential("ClusterCredential", Condition("Ready", "False", "AdminNotReady", message),
            Condition("Stalled", "True", "AdminNotReady", message));
        credential["spec"] = ManagedBy("orders-admn");

        var health = Evaluate(credential);

        health.Status.Should().Be("Degraded");
        health.Message.Should().Be("AdminNotReady: " + message);
    }

    /// <summary>
    /// A user and its admin applied in one sync, the user first (Argo CD applies one kind by name within a wave): the
    /// user's first check finds no admin, and the Application showed Degraded until the admin, created a moment later,
    /// turned Ready. The operator gives a missing admin a minute (Stalled False, then True); so does the script.
    /// </summary>
    [Fact]
    public void A_managed_user_whose_admin_credential_does_not_exist_yet_is_progressing_for_the_operators_minute()
    {
        var message = $"cannot manage user 'app_rw': {AdminLogins.Missing("orders-admin", "team-a")}";
        var credential = Credential("ClusterCredential", Condition("Ready", "False", "AdminNotReady", message),
            Condition("Stalled", "False", "AdminNotReady", message));
        credential["spec"] = ManagedBy("orders-admin");

        var health = Evaluate(credential);

        health.Status.Should().Be("Progressing");
        health.Message.Should().Be("AdminNotReady: " + message);
    }

    /// <summary>The admin exists and is being checked, or failed its own check (then it shows Degraded itself): the user waits.</summary>
    [Theory]
    [InlineData("cannot manage user 'app_rw': admin ClusterCredential orders-admin has not been checked yet")]
    [InlineData("cannot manage user 'app_rw': admin ClusterCredential orders-admin is not Ready (AuthenticationFailed: Access denied for user 'root')")]
    [InlineData("cannot manage user 'app_rw': admin ClusterCredential orders-admin: Secret team-a/corp-ca (named by its spec.endpoint.tls.caSecretRef) does not exist; create it with key \"ca.crt\"")]
    public void A_managed_user_whose_admin_credential_exists_but_is_not_ready_stays_progressing(string message)
    {
        var credential = Credential("ClusterCredential", Condition("Ready", "False", "AdminNotReady", message));
        credential["spec"] = ManagedBy("orders-admin");

        Evaluate(credential).Status.Should().Be("Progressing");
    }

    private static JsonObject ManagedBy(string admin) => new()
    {
        ["engine"] = "MySQL",
        ["username"] = "app_rw",
        ["provisioning"] = new JsonObject { ["adminCredentialRef"] = new JsonObject { ["name"] = admin } },
    };

    [Fact]
    public void Status_for_an_older_generation_is_progressing_even_when_it_said_ready()
    {
        var credential = Credential("ClusterCredential", Condition("Ready", "True", "Validated", "ok"));
        credential["metadata"]!["generation"] = 3;

        var health = Evaluate(credential);

        health.Status.Should().Be("Progressing");
        health.Message.Should().Contain("generation 3");
    }

    [Fact]
    public void Deletion_blocked_by_users_is_progressing_and_names_them()
    {
        var credential = Credential("ClusterCredential",
            Condition("Ready", "True", "Validated", "ok"),
            Condition("DeletionBlocked", "True", "InUse", "used by CronJob/nightly-report, Pod/api-7d9f"));
        credential["metadata"]!["deletionTimestamp"] = "2026-11-25T10:00:00Z";

        var health = Evaluate(credential);

        health.Status.Should().Be("Progressing");
        health.Message.Should().Contain("CronJob/nightly-report");
    }

    [Fact]
    public void Messages_with_quotes_backslashes_and_non_ascii_text_pass_through_unchanged()
    {
        const string message = "mot de passe refusé pour \"app\\rw\"\nretry later";
        var health = Evaluate(Credential("ClusterCredential", Condition("Ready", "False", "TLSFailed", message)));

        health.Status.Should().Be("Degraded");
        health.Message.Should().Be("TLSFailed: " + message);
    }

    [Fact]
    public void Argocd_cm_patch_installs_the_script_for_both_kinds()
    {
        var patch = YamlDocuments.ParseSingle(File.ReadAllText(ShippingTools.PathInRepo("docs", "argocd", "argocd-cm-patch.yaml")));
        var script = File.ReadAllText(ShippingTools.PathInRepo(Script));

        ((string?)patch["metadata"]!["name"]).Should().Be("argocd-cm");
        foreach (var kind in new[] { "ClusterCredential", "PipelineCredential" })
        {
            ((string?)patch["data"]![$"resource.customizations.health.passbox.dev_{kind}"])
                .Should().Be(script, "argocd-cm-patch.yaml must carry docs/argocd/health.lua verbatim");
        }
    }

    [Fact]
    public void Application_example_orders_the_operator_before_the_credentials()
    {
        var apps = YamlDocuments.Parse(File.ReadAllText(ShippingTools.PathInRepo("docs", "argocd", "application.yaml")));
        var operatorApp = apps.Single(a => (string?)a["spec"]!["source"]!["path"] == ShippingManifests.ChartPath);
        var credentialsApp = apps.Single(a => a != operatorApp);

        int Wave(JsonObject app) => int.Parse((string)app["metadata"]!["annotations"]!["argocd.argoproj.io/sync-wave"]!,
            System.Globalization.CultureInfo.InvariantCulture);
        Wave(operatorApp).Should().BeLessThan(Wave(credentialsApp));
        credentialsApp["spec"]!["syncPolicy"]!["syncOptions"]!.AsArray().Select(o => (string?)o)
            .Should().Contain("SkipDryRunOnMissingResource=true");
    }

    [Fact]
    public void Application_example_keeps_the_crds_when_the_operator_Application_is_deleted()
    {
        var apps = YamlDocuments.Parse(File.ReadAllText(ShippingTools.PathInRepo("docs", "argocd", "application.yaml")));
        var operatorApp = apps.Single(a => (string?)a["spec"]!["source"]!["path"] == ShippingManifests.ChartPath);
        ((JsonArray)operatorApp["metadata"]!["finalizers"]!).Select(f => (string?)f).Should().Contain("resources-finalizer.argocd.argoproj.io",
            "the case this guards: with the finalizer, deleting the Application deletes what it manages");
        var values = operatorApp["spec"]!["source"]!["helm"]!["valuesObject"]!;
        var given = (string?)values["crds"]!["annotations"]!["argocd.argoproj.io/sync-options"];
        given.Should().Be("Prune=false,Delete=false");

        // What Argo CD would apply: the chart rendered with the example's CRD annotation.
        var crds = ShippingManifests.HelmDocuments("crds.annotations.argocd\\.argoproj\\.io/sync-options=Prune=false\\,Delete=false")
            .OfKind("CustomResourceDefinition");
        crds.Should().NotBeEmpty();
        crds.Select(c => (string?)c["metadata"]!["annotations"]!["argocd.argoproj.io/sync-options"]).Should().OnlyContain(o => o == "Prune=false,Delete=false");
    }

    /// <summary>The health Argo CD would report for <paramref name="resource"/>.</summary>
    public static Health Evaluate(JsonObject resource)
    {
        var harness = $"""
            obj = {LuaLiteral.From(resource)}
            local hs = dofile(arg[1])
            io.write(tostring(hs.status), "\0", tostring(hs.message))
            """;
        var output = ShippingTools.Run(ShippingTools.Lua, ["-", ShippingTools.PathInRepo(Script)], stdin: harness);
        var parts = output.Split('\0');
        return new Health(parts[0], parts.Length > 1 ? parts[1] : string.Empty);
    }

    private static JsonObject Credential(string kind, params JsonObject[] conditions) => new()
    {
        ["apiVersion"] = "passbox.dev/v1alpha1",
        ["kind"] = kind,
        ["metadata"] = new JsonObject { ["name"] = "sample", ["namespace"] = "team-a", ["generation"] = 2 },
        ["spec"] = new JsonObject(),
        ["status"] = new JsonObject
        {
            ["observedGeneration"] = 2,
            ["conditions"] = new JsonArray(conditions.Select(c => (JsonNode)c).ToArray()),
        },
    };

    private static JsonObject Condition(string type, string status, string reason, string message) => new()
    {
        ["type"] = type,
        ["status"] = status,
        ["reason"] = reason,
        ["message"] = message,
        ["observedGeneration"] = 2,
        ["lastTransitionTime"] = "2026-11-25T10:00:00Z",
    };

    public sealed record Health(string Status, string Message);
}
