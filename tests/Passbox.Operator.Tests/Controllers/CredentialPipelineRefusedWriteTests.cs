using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A Secret write the API server refuses for a cause fixed elsewhere (here a ResourceQuota that is full) is tried again
/// by itself: within a minute, then less and less often, at moments that differ between credentials, and not before it
/// is due whatever else brings the credential back. At a fixed minute, every credential of a namespace whose quota is
/// full was refused at the same moment, every minute, for as long as it stayed full.
/// </summary>
public sealed class CredentialPipelineRefusedWriteTests
{
    private const string Quota = "secrets \\\"billing\\\" is forbidden: exceeded quota: team-quota, requested: count/secrets=1, used: count/secrets=3, limited: count/secrets=3";

    private readonly FakeTimeProvider time = Clock();
    private readonly RefusedWriteBackoff refusals;
    private readonly FakeApiServer api;
    private readonly LogsIn kind = new();
    private string sourceVersion = "1";
    private bool quotaFull = true;

    public CredentialPipelineRefusedWriteTests()
    {
        refusals = new RefusedWriteBackoff(time);
        api = new FakeApiServer(request =>
            request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/source" ? SourceSecret(sourceVersion, "unit-test-pw")
            : request.Method == HttpMethod.Post && quotaFull ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", Quota)
            : request.Method == HttpMethod.Post ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
    }

    [Fact]
    public async Task A_write_refused_again_and_again_is_tried_after_1_2_4_8_then_at_most_16_minutes()
    {
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        var ceilings = new[] { 1, 2, 4, 8, 16, 16, 16 }.Select(minutes => TimeSpan.FromMinutes(minutes)).ToList();

        var waits = new List<TimeSpan>();
        foreach (var _ in ceilings)
        {
            var wait = (await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None))!.Value;
            waits.Add(wait);
            time.Advance(wait);
        }

        Writes().Should().Be(ceilings.Count, "each pass at its due time tries the write once");
        for (var i = 0; i < ceilings.Count; i++)
        {
            waits[i].Should().BeGreaterThanOrEqualTo(ceilings[i] / 2, $"refusal {i + 1} waits at least half its step")
                .And.BeLessThanOrEqualTo(ceilings[i], $"refusal {i + 1}: the jitter only shortens, so the step and the cap are upper bounds");
        }

        Synced(status).Reason.Should().Be(ConditionReasons.SecretRejected);
        Synced(status).Message.Should().Contain("tried again within 1 min, then less often (at most every 16 min)")
            .And.Contain("an edit of the credential or of its source Secrets is tried at once").And.NotContain("unit-test-pw");
    }

    [Fact]
    public async Task Credentials_refused_together_are_tried_again_at_different_times()
    {
        var pipeline = Pipeline();

        var waits = new List<TimeSpan>();
        foreach (var name in new[] { "billing", "orders", "reports", "ledger" })
        {
            waits.Add((await pipeline.RunAsync(Credential(name), kind, new ClusterCredentialStatus(), CancellationToken.None))!.Value);
        }

        waits.Should().OnlyHaveUniqueItems("the jitter is seeded by each object's uid, so a full quota does not make them retry in step");
        waits.Should().OnlyContain(wait => wait >= RefusedWriteBackoff.FirstRetry / 2 && wait <= RefusedWriteBackoff.FirstRetry);
    }

    [Fact]
    public async Task A_reconcile_before_the_retry_is_due_writes_nothing_and_keeps_the_due_time()
    {
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        var first = (await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None))!.Value;
        var refused = Synced(status).Message;

        time.Advance(TimeSpan.FromSeconds(10));
        var unrelated = await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(5));
        var another = await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);

        Writes().Should().Be(1, "a pass that something else brought (a usage change, a periodic check) does not retry the write early");
        unrelated.Should().Be(first - TimeSpan.FromSeconds(10), "the due time was fixed at the refusal, not drawn again on every pass");
        another.Should().Be(first - TimeSpan.FromSeconds(15));
        Synced(status).Message.Should().Be(refused, "the refusal still stands, and is said again");
        Ready(status).Reason.Should().Be(ConditionReasons.SecretRejected);

        time.Advance(first - TimeSpan.FromSeconds(15));
        await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);
        Writes().Should().Be(2, "once due, the write is tried again");
    }

    [Fact]
    public async Task A_write_that_goes_through_starts_the_backoff_again()
    {
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        var fourth = await RefuseAsync(pipeline, status, times: 4);
        fourth.Should().BeGreaterThan(RefusedWriteBackoff.FirstRetry * 2, "the fourth refusal in a row waits 4–8 minutes");
        time.Advance(fourth);

        quotaFull = false;
        await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);
        Synced(status).Status.Should().Be("True");
        quotaFull = true;
        time.Advance(TimeSpan.FromSeconds(1));
        var wait = await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);

        Writes().Should().Be(6, "the cache holds no Secret here, so every pass writes");
        wait.Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry, "the refusals before the write that went through no longer count");
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task An_edit_of_the_credential_or_of_its_source_Secret_is_tried_at_once_and_starts_the_backoff_again(bool sourceEdited, bool specEdited)
    {
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        var last = await RefuseAsync(pipeline, status, times: 4);
        last.Should().BeGreaterThan(RefusedWriteBackoff.FirstRetry, "the fourth refusal waits longer than the first");

        time.Advance(TimeSpan.FromSeconds(20));
        sourceVersion = sourceEdited ? "2" : sourceVersion;
        var credential = Credential();
        credential.Metadata.Generation = specEdited ? 2 : 1;
        var wait = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        Writes().Should().Be(5, "an edit is the user's fix: tried at once, not when the backoff ends");
        wait.Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry, "refusals of the inputs before the edit no longer count");
    }

    /// <summary>
    /// A policy refuses updates of the published Secret. Deleted by hand meanwhile, the Secret is published anew at once
    /// (the policy lets creates through): held back until the backoff ended, workloads would go without it for up to 16
    /// minutes. Edited back by hand to what the credential asks for, it needs no write, and the conditions say so at
    /// once rather than keep the refusal. Left alone, it waits as before.
    /// </summary>
    [Theory]
    [InlineData("deleted", true)]
    [InlineData("edited to match", true)]
    [InlineData("untouched", false)]
    public async Task A_Secret_deleted_or_edited_by_hand_after_a_refusal_is_published_at_once(string change, bool publishedAtOnce)
    {
        var payload = Payload("billing", "unit-test-pw"u8.ToArray());
        var view = new SettableView { Current = Published(payload, resourceVersion: "5", matches: false) };
        var server = new FakeApiServer(request =>
            request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/source" ? SourceSecret(sourceVersion, "unit-test-pw")
            : request.Method == HttpMethod.Patch ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden",
                "admission webhook \\\"no-updates.policy.example\\\" denied the request: Secrets may be created here, not changed")
            : request.Method == HttpMethod.Post ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var pipeline = PipelineTestKit.Pipeline(server, view, time, refusals: refusals);
        var status = new ClusterCredentialStatus();

        var wait = (await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None))!.Value;
        Synced(status).Reason.Should().Be(ConditionReasons.SecretRejected);
        wait.Should().BeGreaterThan(TimeSpan.FromSeconds(10));

        view.Current = change switch
        {
            "deleted" => null,
            "edited to match" => Published(payload, resourceVersion: "6", matches: true),
            _ => view.Current,
        };
        time.Advance(TimeSpan.FromSeconds(5));
        await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);

        server.Requests.Count(r => r.Method == HttpMethod.Patch).Should().Be(1, "the refused update is not sent again before it is due");
        if (publishedAtOnce)
        {
            Synced(status).Status.Should().Be("True", $"the Secret was {change} since the refusal");
            Ready(status).Status.Should().Be("True");
            server.Requests.Count(r => r.Method == HttpMethod.Post).Should().Be(change == "deleted" ? 1 : 0);
        }
        else
        {
            Synced(status).Reason.Should().Be(ConditionReasons.SecretRejected, "nothing changed: the refusal stands until its retry is due");
            server.Requests.Should().NotContain(r => r.Method == HttpMethod.Post);
        }
    }

    /// <summary>
    /// The source's password changed from A to B, and a policy refuses the update with a message that prints the Secret
    /// being replaced (a messageExpression on <c>oldObject.data</c>, Kyverno's <c>request.oldObject</c>). The cache keeps
    /// only digests of A, so A was quoted as it came: readable in the credential's status and event by anyone who may
    /// read credentials. Neither password may reach the condition, the event or the log, now or when said again.
    /// </summary>
    [Fact]
    public async Task A_refusal_that_quotes_the_password_being_replaced_says_why_without_it()
    {
        const string Previous = "previous-password-A1", Next = "rotated-password-B2";
        var forms = new[] { Previous, Base64(Previous), Next, Base64(Next) };
        var view = new SettableView { Current = Published(Payload("billing", Encoding.UTF8.GetBytes(Previous)), resourceVersion: "5", matches: true) };
        var server = new FakeApiServer(request =>
            request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/source" ? SourceSecret("2", Next)
            : request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/billing" ? LiveSecret(Previous)
            : request.Method == HttpMethod.Patch ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden",
                "ValidatingAdmissionPolicy 'keep-passwords' with binding 'keep-passwords' denied request: " +
                $"password may not change from {Base64(Previous)} ({Previous}) to {Base64(Next)} ({Next})")
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var events = new RecordingEvents();
        var loggers = new RecordingLoggers();
        var pipeline = PipelineTestKit.Pipeline(server, view, time, refusals: refusals, events: events, loggers: loggers);
        var status = new ClusterCredentialStatus();

        var wait = await pipeline.RunAsync(Credential(), new SourcePasswordKind(), status, CancellationToken.None);
        var first = Synced(status).Message;
        time.Advance(TimeSpan.FromSeconds(5));
        await pipeline.RunAsync(Credential(), new SourcePasswordKind(), status, CancellationToken.None);

        // Counted, not printed, and first: a failed NotContain (or Contain) would show the passwords in the test output.
        var shown = status.Conditions!.Select(c => c.Message).Append(first).Concat(events.Messages).Concat(loggers.Messages).ToList();
        shown.Sum(text => forms.Count(form => text.Contains(form, StringComparison.Ordinal)))
            .Should().Be(0, "the condition, the event and the log must hold neither password in any form");
        wait.Should().NotBeNull("a policy's refusal is tried again by itself");
        Synced(status).Reason.Should().Be(ConditionReasons.SecretRejected);
        Synced(status).Message.Should().Be(first, "the refusal is said again, from the backoff's memory, until its retry");
        first.Should().Contain("ValidatingAdmissionPolicy 'keep-passwords' with binding 'keep-passwords' denied request: password may not change from *** (***) to *** (***)");
        events.Warnings.Should().ContainSingle().Which.Should().Be(first, "said once, not again while it stands");
        server.Requests.Count(r => r.Method == HttpMethod.Patch).Should().Be(1, "the second pass falls in the backoff");
    }

    /// <summary>
    /// Reading the Secret for its values after a refusal is a courtesy to the message: when that read fails too, the
    /// refusal is still reported, the pass does not fail, and the values being written are still cut out.
    /// </summary>
    [Fact]
    public async Task A_refusal_whose_Secret_cannot_be_read_afterwards_is_reported_without_the_servers_words()
    {
        const string Next = "rotated-password-B2";
        var view = new SettableView { Current = Published(Payload("billing", "previous-password-A1"u8.ToArray()), resourceVersion: "5", matches: true) };
        var reads = 0;
        var server = new FakeApiServer(request =>
            request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/source" ? SourceSecret("2", Next)
            : request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/billing" && ++reads == 1 ? LiveSecret("previous-password-A1")
            : request.Method == HttpMethod.Get ? FakeApiServer.Status(HttpStatusCode.InternalServerError, "InternalError", "etcd is unavailable")
            : request.Method == HttpMethod.Patch ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden",
                $"admission webhook 'no-rotation.policy.example' denied the request: password {Next} is not allowed")
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var pipeline = PipelineTestKit.Pipeline(server, view, time, refusals: refusals);
        var status = new ClusterCredentialStatus();

        var wait = await pipeline.RunAsync(Credential(), new SourcePasswordKind(), status, CancellationToken.None);

        wait.Should().NotBeNull();
        reads.Should().Be(2, "the Secret was read once to hand over its fields, and once more after the refusal");
        Synced(status).Reason.Should().Be(ConditionReasons.SecretRejected);
        Synced(status).Message.Should().Contain("HTTP 403").And.Contain("message is left out",
            "the values the Secret holds are unknown, so the server's words, which might quote one, are not shown")
            .And.NotContain(Next).And.NotContain("denied the request");
    }

    [Fact]
    public async Task A_deleted_credential_is_forgotten()
    {
        var pipeline = Pipeline();
        var informer = new FakeInformer<V1ConfigMap>(ResourceDescriptor.For<V1ConfigMap>());
        using var subscription = pipeline.ForgetDeleted(informer);
        var status = new ClusterCredentialStatus();
        await RefuseAsync(pipeline, status, times: 3);
        time.Advance(TimeSpan.FromSeconds(1));

        // The inputs of the refused write: generation, revision, and the Secret as the cache shows it (none here).
        var inputs = $"1/{status.AttemptedRevision}/none";
        informer.Apply(Credential());
        refusals.Waiting("uid-billing", RefusedWrite.GeneratedSecret, inputs).Should().NotBeNull("an update is not a deletion");
        informer.Delete(Credential());

        refusals.Waiting("uid-billing", RefusedWrite.GeneratedSecret, inputs).Should().BeNull("nothing is kept of a deleted credential");
        refusals.Refused("uid-billing", RefusedWrite.GeneratedSecret, inputs, "SecretRejected", "refused")
            .Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry, "a new object of the same uid would start afresh");
    }

    /// <summary>Runs <paramref name="times"/> passes, each when the last refusal's retry is due; returns the last wait.</summary>
    private async Task<TimeSpan> RefuseAsync(CredentialPipeline pipeline, ClusterCredentialStatus status, int times)
    {
        var wait = TimeSpan.Zero;
        for (var i = 0; i < times; i++)
        {
            time.Advance(wait);
            wait = (await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None))!.Value;
        }

        Writes().Should().Be(times);
        return wait;
    }

    private int Writes() => api.Requests.Count(r => r.Method == HttpMethod.Post);

    /// <summary>Secret billing as the cache shows it: Passbox's, protected, with the payload's data or older data.</summary>
    private static ObservedSecret Published(SecretPayload payload, string resourceVersion, bool matches) => new(
        "uid-secret",
        payload.Type,
        matches ? payload.KeyDigests : "",
        new Dictionary<string, string>(),
        matches
            ? new Dictionary<string, string> { [ApiGroup.DataHashAnnotation] = payload.DataHash, [ApiGroup.MetadataHashAnnotation] = payload.MetadataHash }
            : new Dictionary<string, string>(),
        ["uid-billing"],
        [ApiGroup.InUseFinalizer],
        false)
    {
        ResourceVersion = resourceVersion,
    };

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>Secret billing as the API server holds it: Passbox's, with <paramref name="password"/>.</summary>
    private static HttpResponseMessage LiveSecret(string password) => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(new V1Secret
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = "billing",
            NamespaceProperty = "team",
            Uid = "uid-secret",
            ResourceVersion = "5",
            OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "billing", Uid = "uid-billing" }],
            Finalizers = [ApiGroup.InUseFinalizer],
        },
        Type = "Opaque",
        Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes(password) },
    }));

    private CredentialPipeline Pipeline() => PipelineTestKit.Pipeline(api, new NoGeneratedSecrets(), time, refusals: refusals);

    private static V1Condition Synced(CredentialStatus status) => status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced);

    private static V1Condition Ready(CredentialStatus status) => status.Conditions!.Single(c => c.Type == ConditionTypes.Ready);

    /// <summary>The generated Secret the cache shows, as the test sets it.</summary>
    private sealed class SettableView : IGeneratedSecretView
    {
        public ObservedSecret? Current { get; set; }

        public ObservedSecret? Find(string namespaceName, string name) => name == "billing" ? Current : null;

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }

    /// <summary>The events' messages, in order: all of them, and the Warnings alone.</summary>
    private sealed class RecordingEvents : IEventSink
    {
        public List<string> Messages { get; } = [];

        public List<string> Warnings { get; } = [];

        public Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct)
        {
            Messages.Add(message);
            return Task.CompletedTask;
        }

        public Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct)
        {
            Messages.Add(message);
            Warnings.Add(message);
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Reads the <see cref="PipelineTestKit.Source"/> Secret and logs in, checked only when its inputs change: every wait
    /// the pipeline returns here is the refused write's, not a periodic check's.
    /// </summary>
    private sealed class LogsIn : TestCredentialKind
    {
        public override IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) => [new(Source, "spec.passwordSecretRef")];

        public override CheckSchedule Schedule(V1ConfigMap credential) => new(TimeSpan.Zero, TimeSpan.FromSeconds(5), DisabledBy: null);

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(ValidationOutcome.Success("logged in"));
    }
}
