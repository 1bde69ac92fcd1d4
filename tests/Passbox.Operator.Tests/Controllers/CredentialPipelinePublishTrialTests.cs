using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A new password for a managed user whose Secret is published, while an admission policy refuses changes of that
/// Secret. The administrator set the password first and the Secret was refused after, so every workload was left with a
/// password that no longer logged in. Now the write is tried dry before the administrator changes anything: refused, the
/// password is left alone, no check runs, and the refusal is reported and retried as a refused write of the Secret.
/// </summary>
public sealed class CredentialPipelinePublishTrialTests
{
    private const string Denial = "ValidatingAdmissionPolicy 'freeze' with binding 'freeze' denied request: published credentials may not change";

    private readonly FakeTimeProvider time = Clock();
    private readonly V1ConfigMap credential = Credential();
    private readonly PasswordSettingKind kind = new();
    private readonly FakeApiServer server;
    private string sourceVersion = "5";
    private bool frozen;
    private HttpStatusCode? failing;
    private bool hanging;
    private bool writeFailing;
    private V1Secret? stored;

    public CredentialPipelinePublishTrialTests() => server = new FakeApiServer(RespondAsync);

    [Fact]
    public async Task A_new_password_whose_Secret_would_be_refused_is_not_set_and_is_set_once_the_Secret_is_taken()
    {
        var pipeline = PipelineTestKit.Pipeline(server, new ServerView(this), time);
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        kind.PasswordsSet.Should().Equal(["pw-5"]);
        var checkedRevision = status.AttemptedRevision;

        frozen = true;
        sourceVersion = "6";
        var retry = (await pipeline.RunAsync(credential, kind, status, CancellationToken.None))!.Value;

        kind.PasswordsSet.Should().Equal(["pw-5"], "the server keeps the published password while its Secret would be refused");
        kind.Logins.Should().Be(1, "no check ran");
        status.AttemptedRevision.Should().Be(checkedRevision);
        Condition(status, ConditionTypes.Validated).Status.Should().Be("True", "the published password still logs in");
        Condition(status, ConditionTypes.SecretSynced).Reason.Should().Be(ConditionReasons.SecretRejected);
        Condition(status, ConditionTypes.SecretSynced).Message.Should().StartWith("the password was not changed: the API server refused Secret billing: " + Denial)
            .And.Contain(SecretRefusalReport.Retried).And.NotContain("pw-6");
        Condition(status, ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretRejected);
        DryRuns().Should().Be(1);
        Writes().Should().Be(0, "the Secret was only tried");
        retry.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2).And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);

        // Brought back before the retry is due (a usage change, a status echo): nothing is asked, the refusal stands.
        time.Advance(TimeSpan.FromSeconds(10));
        (await pipeline.RunAsync(credential, kind, status, CancellationToken.None)).Should().Be(retry - TimeSpan.FromSeconds(10));
        DryRuns().Should().Be(1);
        kind.PasswordsSet.Should().HaveCount(1);

        frozen = false;
        time.Advance(retry);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.PasswordsSet.Should().Equal(["pw-5", "pw-6"]);
        Writes().Should().Be(1);
        stored!.Data["password"].Should().Equal("pw-6"u8.ToArray());
        Condition(status, ConditionTypes.SecretSynced).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_first_password_and_an_unchanged_one_ask_for_no_dry_run()
    {
        var pipeline = PipelineTestKit.Pipeline(server, new ServerView(this), time);
        var status = new ClusterCredentialStatus();
        frozen = true;

        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(TimeSpan.FromHours(2));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        DryRuns().Should().Be(0, "nothing published yet locks no workload out, and an unchanged password changes nothing");
        kind.Logins.Should().Be(2);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, "the API server answered 500 InternalServerError")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "the API server answered 503 ServiceUnavailable")]
    [InlineData(null, "the API server could not be reached: ConnectionError")]
    public async Task A_dry_run_the_API_server_fails_records_no_check_and_is_asked_again_with_backoff(HttpStatusCode? answer, string failure)
    {
        // Such a dry run was recorded as a failed check: Validated turned False (Unreachable) and passbox_checks_total
        // counted an Unreachable check, though nobody logged in and the published password, left alone, still logged in.
        credential.Kind = $"Trial{Guid.NewGuid():N}";
        var events = new RecordingEvents();
        var pipeline = PipelineTestKit.Pipeline(server, new ServerView(this), time, events: events);
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var checkedRevision = status.AttemptedRevision;
        var lastCheck = Condition(status, ConditionTypes.Validated).Message;

        failing = answer ?? (HttpStatusCode)0;
        sourceVersion = "6";
        var retry = (await pipeline.RunAsync(credential, kind, status, CancellationToken.None))!.Value;

        kind.PasswordsSet.Should().Equal(["pw-5"], "what the API server would say of the new Secret is unknown");
        kind.Logins.Should().Be(1, "no check ran");
        DryRuns().Should().Be(1);
        Writes().Should().Be(0);
        ShowsTrialFailed(status, checkedRevision, lastCheck, failure);
        events.Warnings.Should().Equal([(ConditionReasons.SecretWriteFailed, Condition(status, ConditionTypes.Ready).Message)]);
        (await ChecksAsync(credential.Kind, ValidationReasons.Unreachable)).Should().Be(0, "no login was made");
        (await ChecksAsync(credential.Kind, ValidationReasons.Validated)).Should().Be(1, "the first check only");
        retry.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2).And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);

        // Brought back before the retry is due (a status echo): nothing is asked, nothing changes, no second Warning.
        time.Advance(TimeSpan.FromSeconds(10));
        (await pipeline.RunAsync(credential, kind, status, CancellationToken.None)).Should().Be(retry - TimeSpan.FromSeconds(10));
        DryRuns().Should().Be(1);
        ShowsTrialFailed(status, checkedRevision, lastCheck, failure);
        events.Warnings.Should().HaveCount(1);

        // The API server answers again: the password is changed, checked and published.
        failing = null;
        time.Advance(retry);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.PasswordsSet.Should().Equal(["pw-5", "pw-6"]);
        Writes().Should().Be(1);
        stored!.Data["password"].Should().Equal("pw-6"u8.ToArray());
        Condition(status, ConditionTypes.Ready).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_write_that_fails_after_the_new_password_was_set_records_the_check_says_so_and_only_writes_on_the_next_pass()
    {
        // The pass failed with an exception and no status: nothing said why the Secret kept the password the server no
        // longer took, and every retry set the password on the server again before failing the same way.
        var events = new RecordingEvents();
        var pipeline = PipelineTestKit.Pipeline(server, new ServerView(this), time, events: events);
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        writeFailing = true;
        sourceVersion = "6";
        var retry = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.PasswordsSet.Should().Equal(["pw-5", "pw-6"]);
        Condition(status, ConditionTypes.Validated).Status.Should().Be("True", "the new password logs in");
        var checkedRevision = status.AttemptedRevision;
        status.PublishedRevision.Should().NotBe(checkedRevision);
        foreach (var type in new[] { ConditionTypes.SecretSynced, ConditionTypes.Ready })
        {
            var condition = Condition(status, type);
            condition.Status.Should().Be("False");
            condition.Reason.Should().Be(ConditionReasons.SecretWriteFailed);
            condition.Message.Should().StartWith("the new password is set on the server and logs in, but writing Secret billing failed (the API server answered 500 InternalServerError)")
                .And.Contain("the new one is kept in the user's password Secret").And.NotContain("pw-");
        }

        events.Warnings.Should().ContainSingle(w => w.Reason == ConditionReasons.SecretWriteFailed);
        retry.Should().NotBeNull().And.Subject.Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(2), "workloads are refused until it is written");

        // Failing again: the same words, no second Warning, a longer wait.
        time.Advance(retry!.Value);
        var second = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        events.Warnings.Should().ContainSingle(w => w.Reason == ConditionReasons.SecretWriteFailed);
        second.Should().BeGreaterThan(TimeSpan.FromSeconds(1)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(4));

        writeFailing = false;
        time.Advance(second!.Value);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.PasswordsSet.Should().Equal(["pw-5", "pw-6"], "the check is recorded: the password is not set again");
        kind.Logins.Should().Be(2);
        stored!.Data["password"].Should().Equal("pw-6"u8.ToArray());
        status.PublishedRevision.Should().Be(checkedRevision);
        Condition(status, ConditionTypes.Ready).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_dry_run_still_unanswered_when_the_checks_time_is_up_records_no_check_either()
    {
        // It ended as a Timeout of the check, Validated False, though nothing was changed and nobody logged in.
        var pipeline = PipelineTestKit.Pipeline(server, new ServerView(this), time);
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var checkedRevision = status.AttemptedRevision;
        var lastCheck = Condition(status, ConditionTypes.Validated).Message;

        hanging = true;
        sourceVersion = "6";
        var pass = pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        await FakeApiServer.WaitUntilAsync(() => DryRuns() == 1);
        time.Advance(CredentialPipeline.CheckBudget(TimeSpan.FromSeconds(5), provisioned: true));
        (await pass).Should().BeGreaterThan(TimeSpan.Zero);

        kind.PasswordsSet.Should().Equal(["pw-5"]);
        ShowsTrialFailed(status, checkedRevision, lastCheck, "the API server did not answer in time");
    }

    /// <summary>The last check still told, and SecretSynced and Ready saying why the new password waits.</summary>
    private static void ShowsTrialFailed(CredentialStatus status, string? checkedRevision, string lastCheck, string failure)
    {
        status.AttemptedRevision.Should().Be(checkedRevision, "no check is recorded");
        var validated = Condition(status, ConditionTypes.Validated);
        validated.Status.Should().Be("True", "the published password still logs in");
        validated.Message.Should().Be(lastCheck);
        var expected = "the password was not changed: the dry run of the write of Secret billing failed (" + failure +
            "), so whether the API server takes the new password is not known; " + SecretRefusalReport.Retried;
        foreach (var type in new[] { ConditionTypes.SecretSynced, ConditionTypes.Ready })
        {
            var condition = Condition(status, type);
            condition.Status.Should().Be("False");
            condition.Reason.Should().Be(ConditionReasons.SecretWriteFailed);
            condition.Message.Should().Be(expected);
        }
    }

    /// <summary>The value of <c>passbox_checks_total</c> for one kind and reason, as Prometheus would scrape it.</summary>
    private static async Task<double> ChecksAsync(string kindName, string reason)
    {
        using var scrape = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(scrape);
        var series = $"passbox_checks_total{{kind=\"{kindName}\",reason=\"{reason}\"}} ";
        var line = System.Text.Encoding.UTF8.GetString(scrape.ToArray()).Split('\n').SingleOrDefault(l => l.StartsWith(series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[series.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static V1Condition Condition(CredentialStatus status, string type) => status.Conditions!.Single(c => c.Type == type);

    private int DryRuns() => server.Requests.Count(r => r.Query.Contains("dryRun", StringComparison.Ordinal));

    /// <summary>Server-side applies of the generated Secret that were not dry runs: the writes that change its data.</summary>
    private int Writes() => server.Requests.Count(r => IsApply(r) && r.Path.EndsWith("/secrets/billing", StringComparison.Ordinal) && !r.Query.Contains("dryRun", StringComparison.Ordinal));

    /// <summary>A dry run while <see cref="hanging"/> gets no answer until the client gives up.</summary>
    private async Task<HttpResponseMessage> RespondAsync(RecordedRequest request, CancellationToken ct)
    {
        if (hanging && request.Query.Contains("dryRun", StringComparison.Ordinal))
        {
            await Task.Delay(Timeout.Infinite, ct);
        }

        return Respond(request);
    }

    private HttpResponseMessage Respond(RecordedRequest request)
    {
        const string Secrets = "/api/v1/namespaces/team/secrets";
        if (request.Path == $"{Secrets}/source")
        {
            return SourceSecret(sourceVersion, "pw-" + sourceVersion);
        }

        if (request.Path == Secrets && request.Method == HttpMethod.Post)
        {
            stored = KubernetesJson.Deserialize<V1Secret>(request.Body!);
            stored.Metadata.Uid = "uid-secret";
            stored.Metadata.ResourceVersion = "1";
            return FakeApiServer.Json(HttpStatusCode.Created, KubernetesJson.Serialize(stored));
        }

        if (request.Path == $"{Secrets}/billing" && request.Method == HttpMethod.Patch)
        {
            if (frozen)
            {
                return FakeApiServer.Status(HttpStatusCode.UnprocessableEntity, "Invalid", Denial);
            }

            if (failing is { } code)
            {
                return code == 0
                    ? throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (api.test:443)")
                    : FakeApiServer.Status(code, "InternalError", "etcdserver: request timed out");
            }

            if (writeFailing && IsApply(request) && !request.Query.Contains("dryRun", StringComparison.Ordinal))
            {
                return FakeApiServer.Status(HttpStatusCode.InternalServerError, "InternalError", "etcdserver: request timed out");
            }

            if (IsApply(request) && !request.Query.Contains("dryRun", StringComparison.Ordinal))
            {
                var applied = KubernetesJson.Deserialize<V1Secret>(request.Body!);
                stored!.Data = applied.Data;
                stored.Metadata.Annotations = applied.Metadata.Annotations;
            }

            return FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(stored));
        }

        if (request.Path == $"{Secrets}/billing")
        {
            return stored is null ? FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound") : FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(stored));
        }

        return OptedInWorkloads(request.Path);
    }

    private static bool IsApply(RecordedRequest request) => request.ContentType?.Contains("apply-patch", StringComparison.Ordinal) == true;

    /// <summary>The generated Secret as the server holds it.</summary>
    private sealed class ServerView(CredentialPipelinePublishTrialTests test) : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) => test.stored is { } secret && name == "billing" ? ObservedSecret.From(secret) : null;

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }

    /// <summary>
    /// A managed user whose Secret holds the <see cref="PipelineTestKit.Source"/> password; its administrator sets a new
    /// password as the user provisioner does: for a published Secret, only once the trial says its write would be taken.
    /// </summary>
    private sealed class PasswordSettingKind : TestCredentialKind, ICredentialProvisioning<V1ConfigMap>
    {
        public List<string> PasswordsSet { get; } = [];

        public override ICredentialProvisioning<V1ConfigMap> Provisioning => this;

        public override IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) => [new(PipelineTestKit.Source, "spec.passwordSecretRef")];

        public override CheckSchedule Schedule(V1ConfigMap credential) => new(TimeSpan.FromHours(1), TimeSpan.FromSeconds(5), DisabledBy: null);

        public override SecretPayload BuildSecret(V1ConfigMap credential, SourceValues sources) => PipelineTestKit.Payload(SecretName(credential), sources.All.Single().Bytes!);

        public bool Manages(V1ConfigMap credential) => true;

        public Task<PrepareResult> PrepareAsync(V1ConfigMap credential, CredentialStatus status, CancellationToken ct) => Task.FromResult(PrepareResult.Nothing);

        public async Task<ValidationOutcome?> ApplyAsync(V1ConfigMap credential, SourceValues sources, CredentialStatus status, bool loginRefused, PublishTrial trial,
            CancellationToken ct)
        {
            var password = sources.All.Single().Text!;
            if (PasswordsSet.LastOrDefault() == password)
            {
                return null;
            }

            if (status.PublishedRevision is not null && await trial.RefusalAsync(ct) is { } refused)
            {
                return ValidationOutcome.Failure(refused.Reason, $"the password was not changed: {refused.Message}");
            }

            PasswordsSet.Add(password);
            return null;
        }

        public Task<ReleaseResult> ReleaseAsync(V1ConfigMap credential, CancellationToken ct) => Task.FromResult(ReleaseResult.Nothing);

        public bool DropsUserOnDeletion(V1ConfigMap credential) => false;

        public IReadOnlyList<string> DependentsOf(V1ConfigMap credential) => [];

        public DateTimeOffset? WaitOverSince(V1ConfigMap credential, string reason) => null;

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(ValidationOutcome.Success("Logged in", "11.4"));
    }

    /// <summary>The Warning events, by reason and message.</summary>
    private sealed class RecordingEvents : IEventSink
    {
        public List<(string Reason, string Message)> Warnings { get; } = [];

        public Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct) => Task.CompletedTask;

        public Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct)
        {
            Warnings.Add((reason, message));
            return Task.CompletedTask;
        }
    }
}
