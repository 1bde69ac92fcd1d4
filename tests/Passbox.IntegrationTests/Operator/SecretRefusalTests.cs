using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The API server refuses the operator's write of the generated Secret, for real: an admission policy whose refusal
/// quotes the Secret's data, a ValidatingAdmissionPolicy that denies it, a webhook that cannot be called, a Secret over
/// the size limits. Each ends in a condition that names who refused and
/// what to do, without the Secret's values, and a Secret already published stays. After every test the operator's
/// logs, the namespace's events and every status are searched for the values used: none may appear.
/// </summary>
[Collection(PipelineOperatorTestsDefinition.Name)]
public sealed class SecretRefusalTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "refusal");
        kit = run.Kit;
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    /// <summary>
    /// A policy whose refusal quotes the Secret's new value, on the update of a published Secret: the condition and the
    /// event show the refusal with the value cut out, and workloads keep the last good Secret.
    /// </summary>
    [Fact]
    public async Task A_refused_update_whose_refusal_quotes_the_new_value_is_reported_without_it_and_keeps_the_published_Secret()
    {
        const string First = "first token accepted 7c9e";
        const string Second = "second token quoted 3f0a";
        var secondBase64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Second));
        run.MarkSecret(First, Second, secondBase64);
        await kit.CreateSecretAsync("quoted-input", new Dictionary<string, string> { ["token"] = First });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("quoted", "quoted-input"));
        var before = await kit.WaitForSecretAsync("quoted");
        await using var policy = await SecretAdmission.QuoteValueAsync(controlPlane.Admin, run.Namespace, "quoted", "token");

        await kit.SetSecretValueAsync("quoted-input", "token", Second);

        var refused = await kit.WaitForConditionAsync<PipelineCredential>("quoted", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretRejected);
        Synced(refused).Message.Should().Contain("metadata.labels: Invalid value").And.Contain("*** is quoted").And.NotContain(Second).And.NotContain(secondBase64);
        var events = await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == ConditionReasons.SecretRejected), "the SecretRejected event");
        events.Where(e => e.Reason == ConditionReasons.SecretRejected).Should().OnlyContain(e => !e.Message.Contains(secondBase64, StringComparison.Ordinal));
        var kept = (await kit.TryGetSecretAsync("quoted"))!;
        kept.Metadata.Uid.Should().Be(before.Metadata.Uid, "workloads mount it");
        ClusterTestKit.Decode(kept)["token"].Should().Be(First);
    }

    /// <summary>
    /// A ValidatingAdmissionPolicy whose messageExpression prints the value the Secret holds (<c>oldObject.data</c>) refuses
    /// the update to a new token. The operator's cache keeps only digests of the published values, so the token in use
    /// was quoted as it came: in the condition and the event, readable by anyone who may read credentials. Neither token
    /// may appear there (nor in the log: the run checks logs, events and statuses for both, in both forms, after the test).
    /// </summary>
    [Fact]
    public async Task A_refused_update_whose_refusal_quotes_the_value_being_replaced_is_reported_without_it()
    {
        const string First = "first token in use 8a41";
        const string Second = "second token refused c25e";
        string[] forms = [First, Base64(First), Second, Base64(Second)];
        run.MarkSecret(forms);
        await kit.CreateSecretAsync("replaced-input", new Dictionary<string, string> { ["token"] = First });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("replaced", "replaced-input"));
        var before = await kit.WaitForSecretAsync("replaced");
        await using var policy = await SecretAdmission.DenyDataChangesQuotingHeldValueAsync(controlPlane.Admin, run.Namespace, "replaced", "token", First);

        await kit.SetSecretValueAsync("replaced-input", "token", Second);

        var refused = await kit.WaitForConditionAsync<PipelineCredential>("replaced", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretRejected);
        var events = await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == ConditionReasons.SecretRejected), "the SecretRejected event");
        var shown = refused.Status!.Conditions!.Select(c => c.Message).Concat(events.Select(e => e.Message)).ToList();
        // Counted, not printed, and first: a failed NotContain (or Contain) would show the tokens in the test output.
        shown.Sum(text => forms.Count(form => text.Contains(form, StringComparison.Ordinal))).Should().Be(0, "no form of either token may be shown");
        Synced(refused).Message.Should().Contain($"ValidatingAdmissionPolicy '{policy.Name}'").And.Contain("token may not change from ***")
            .And.Contain("An admission policy or webhook");
        var kept = (await kit.TryGetSecretAsync("replaced"))!;
        kept.Metadata.Uid.Should().Be(before.Metadata.Uid, "workloads mount it");
        (ClusterTestKit.Decode(kept)["token"] == First).Should().BeTrue("the last good Secret stays");
    }

    /// <summary>
    /// A ValidatingAdmissionPolicy that denies the update of a published Secret: SecretRejected naming the policy, its
    /// message and what to do, the last good Secret kept; once the policy is gone, the retry (the first within
    /// <see cref="Passbox.Operator.Controllers.Shared.RefusedWriteBackoff.FirstRetry"/>) publishes the new value.
    /// </summary>
    [Fact]
    public async Task An_update_denied_by_a_ValidatingAdmissionPolicy_is_reported_as_rejected_by_it_and_published_once_it_is_gone()
    {
        const string First = "first token allowed 51d2";
        const string Second = "second token denied 9b7e";
        const string Denial = "Secrets named guarded may not change here (passbox test)";
        run.MarkSecret(First, Second);
        await kit.CreateSecretAsync("guarded-input", new Dictionary<string, string> { ["token"] = First });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("guarded", "guarded-input"));
        var before = await kit.WaitForSecretAsync("guarded");
        await using var policy = await SecretAdmission.DenyAsync(controlPlane.Admin, run.Namespace, "guarded", Denial);

        await kit.SetSecretValueAsync("guarded-input", "token", Second);

        var refused = await kit.WaitForConditionAsync<PipelineCredential>("guarded", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretRejected);
        Synced(refused).Message.Should().Contain($"ValidatingAdmissionPolicy '{policy.Name}'").And.Contain(Denial)
            .And.Contain("An admission policy or webhook").And.Contain("ask the cluster's administrators for an exception")
            .And.Contain(Passbox.Operator.Controllers.Shared.SecretRefusalReport.Retried).And.Contain("then less often (at most every 16 min)");
        var kept = (await kit.TryGetSecretAsync("guarded"))!;
        kept.Metadata.Uid.Should().Be(before.Metadata.Uid, "workloads mount it");
        ClusterTestKit.Decode(kept)["token"].Should().Be(First);

        await policy.DeleteAsync();

        await kit.WaitForConditionAsync<PipelineCredential>("guarded", ConditionTypes.SecretSynced, "True", timeout: Retried);
        var published = (await kit.TryGetSecretAsync("guarded"))!;
        published.Metadata.Uid.Should().Be(before.Metadata.Uid);
        ClusterTestKit.Decode(published)["token"].Should().Be(Second);
    }

    /// <summary>
    /// A policy refuses changes of the published Secret's data, not its creation. The refused update waits for its retry
    /// (half a minute at the soonest), but the Secret deleted by hand meanwhile is published anew at once, with the new
    /// value: held back until the retry, workloads would have gone without it, up to 16 minutes after refusals in a row.
    /// </summary>
    [Fact]
    public async Task A_Secret_deleted_by_hand_while_a_refused_update_waits_for_its_retry_is_published_anew_at_once()
    {
        const string First = "first token frozen 2d8a";
        const string Second = "second token refused 6e1b";
        const string Denial = "the data of Secrets named frozen may not change here (passbox test)";
        run.MarkSecret(First, Second);
        await kit.CreateSecretAsync("frozen-input", new Dictionary<string, string> { ["token"] = First });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("frozen", "frozen-input"));
        var before = await kit.WaitForSecretAsync("frozen");
        await using var policy = await SecretAdmission.DenyDataChangesAsync(controlPlane.Admin, run.Namespace, "frozen", Denial);

        await kit.SetSecretValueAsync("frozen-input", "token", Second);
        var refused = await kit.WaitForConditionAsync<PipelineCredential>("frozen", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretRejected);
        var refusedBy = DateTimeOffset.UtcNow;
        Synced(refused).Message.Should().Contain(Denial);

        await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("frozen", run.Namespace);

        var republished = await kit.WaitForSecretAsync("frozen", s => s.Metadata.Uid != before.Metadata.Uid && s.Metadata.DeletionTimestamp is null,
            timeout: HeldBack);
        (DateTimeOffset.UtcNow - refusedBy).Should().BeLessThan(HeldBack, "published at once, not at the refused update's retry");
        ClusterTestKit.Decode(republished)["token"].Should().Be(Second);
        await kit.WaitForConditionAsync<PipelineCredential>("frozen", ConditionTypes.SecretSynced, "True", timeout: HeldBack);
    }

    /// <summary>
    /// A validating webhook with failurePolicy Fail that cannot be reached: AdmissionWebhookFailed naming the webhook, and
    /// no Secret; once the webhook configuration is gone, the retry publishes it.
    /// </summary>
    [Fact]
    public async Task A_Secret_whose_webhook_cannot_be_called_is_reported_as_a_failed_webhook_and_published_once_it_is_gone()
    {
        const string Token = "token behind a webhook 0e4c";
        run.MarkSecret(Token);
        await kit.CreateSecretAsync("webhooked-input", new Dictionary<string, string> { ["token"] = Token });
        await using var webhook = await SecretAdmission.UnreachableWebhookAsync(controlPlane.Admin, run.Namespace, "webhooked");

        await kit.CreateAsync(ClusterTestKit.TokenCredential("webhooked", "webhooked-input"));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("webhooked", ConditionTypes.SecretSynced, "False", ConditionReasons.AdmissionWebhookFailed);
        Synced(failed).Message.Should().Contain("failed calling webhook").And.Contain($"{webhook.Name}.passbox.test")
            .And.Contain("did not answer").And.Contain("check that webhook's Service and Pods").And.Contain("then less often (at most every 16 min)");
        (await kit.TryGetSecretAsync("webhooked")).Should().BeNull();

        await webhook.DeleteAsync();

        await kit.WaitForConditionAsync<PipelineCredential>("webhooked", ConditionTypes.SecretSynced, "True", timeout: Retried);
        ClusterTestKit.Decode((await kit.TryGetSecretAsync("webhooked"))!)["token"].Should().Be(Token);
    }

    /// <summary>
    /// Tekton's <c>.git-credentials</c> holds the password URL-escaped, so a large password of characters that need
    /// escaping makes a Secret far larger than its source: over 1 MiB of data (a kube-apiserver answers 422 "Too long";
    /// this control plane leaves it to etcd's 1.5 MiB limit, a 500 "request is too large"), or over the 3 MiB a request
    /// may carry (413). Each is told as SecretTooLarge with the size, not as an error retried for ever with no status.
    /// </summary>
    [Theory]
    [InlineData("big-data", 400_000)]
    [InlineData("big-request", 900_000)]
    public async Task A_Secret_over_the_API_servers_size_limits_is_reported_as_too_large(string name, int passwordLength)
    {
        var password = new string('/', passwordLength);
        run.MarkSecret(password);
        await kit.CreateSecretAsync($"{name}-input", new Dictionary<string, string> { ["password"] = password });

        await kit.CreateAsync(new PipelineCredential
        {
            Metadata = new() { Name = name },
            Spec = new PipelineCredentialSpec
            {
                Type = PipelineCredentialType.UsernamePassword,
                Server = "https://git.passbox.invalid/team/app.git",
                UsernamePassword = new UsernamePasswordSource
                {
                    Username = "ci",
                    PasswordSecretRef = new SecretKeyReference { Name = $"{name}-input", Key = "password" },
                },
                Validation = new PipelineValidationSettings { Probe = PipelineProbe.None },
                Secret = new PipelineSecretSettings { Format = SecretFormat.BasicAuth, Consumers = [SecretConsumer.Tekton] },
            },
        });

        var refused = await kit.WaitForConditionAsync<PipelineCredential>(name, ConditionTypes.SecretSynced, "False", ConditionReasons.SecretTooLarge);

        Synced(refused).Message.Should().Contain("MiB").And.Contain("make the source values smaller").And.NotContain("tried again");
        Condition(refused, ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretTooLarge);
        (await kit.TryGetSecretAsync(name)).Should().BeNull();
    }

    /// <summary>
    /// Long enough for the first retry of a refused write after the refusal is gone (it waits at most a minute, the
    /// jitter only shortens it); the tests remove the cause before a second refusal could wait longer.
    /// </summary>
    private static readonly TimeSpan Retried = Passbox.Operator.Controllers.Shared.RefusedWriteBackoff.FirstRetry + TimeSpan.FromSeconds(45);

    /// <summary>Less than the soonest a first refusal is tried again (the jitter waits at least half of FirstRetry).</summary>
    private static readonly TimeSpan HeldBack = Passbox.Operator.Controllers.Shared.RefusedWriteBackoff.FirstRetry / 2 - TimeSpan.FromSeconds(5);

    private static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    private static V1Condition Synced(PipelineCredential credential) => Condition(credential, ConditionTypes.SecretSynced);

    private static V1Condition Condition(PipelineCredential credential, string type) => credential.Status!.Conditions!.Single(c => c.Type == type);
}
