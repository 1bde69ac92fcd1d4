using System.Globalization;
using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class GeneratedPasswordStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Period = TimeSpan.FromDays(30);
    private static readonly RefusedWriteScope Scope = new("uid-orders", "1");

    /// <summary>A store whose API server holds the generated password Secret of "orders", with the given generated-at annotation.</summary>
    /// <remarks>With <paramref name="refusePatches"/>, every patch is refused with 403, as RBAC or a policy would.</remarks>
    private static (GeneratedPasswordStore Store, FakeApiServer Server) StoreWith(string? generatedAt, bool refusePatches = false, HttpResponseMessage? patchAnswer = null,
        FakeTimeProvider? clock = null)
    {
        var secret = PasswordSecret(generatedAt);
        var server = new FakeApiServer(request => request.Method == HttpMethod.Patch && patchAnswer is not null ? patchAnswer
            : refusePatches && request.Method == HttpMethod.Patch
            ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "secrets is forbidden: policy no-password-changes denied the change")
            : FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(secret)));
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server);
        clock ??= new FakeTimeProvider(Now);
        return (new GeneratedPasswordStore(client, new RefusedWriteBackoff(clock), clock), server);
    }

    /// <summary>The generated password Secret of "orders" at resourceVersion 7, with the given generated-at annotation.</summary>
    private static V1Secret PasswordSecret(string? generatedAt) =>
        new()
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta
            {
                Name = GeneratedPasswordStore.SecretName("orders"),
                NamespaceProperty = "team",
                ResourceVersion = "7",
                Labels = new Dictionary<string, string>
                {
                    [ApiGroup.CredentialLabel] = "orders",
                    [GeneratedPasswordStore.PurposeLabel] = GeneratedPasswordStore.PurposeValue,
                },
                Annotations = generatedAt is null ? null : new Dictionary<string, string> { [GeneratedPasswordStore.GeneratedAtAnnotation] = generatedAt },
            },
            Data = new Dictionary<string, byte[]> { [GeneratedPasswordStore.Key] = Encoding.UTF8.GetBytes("the-current-password-abc") },
        };

    private static int Writes(FakeApiServer server) => server.Requests.Count(r => r.Method == HttpMethod.Patch);

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(null)]
    [InlineData("last tuesday")]
    public async Task A_password_of_unknown_age_is_due_so_it_is_rotated_now_and_the_owner_is_told_why(string? generatedAt)
    {
        var (store, server) = StoreWith(generatedAt);

        var state = await store.EnsureAsync("team", "orders", null, Period, Scope, CancellationToken.None);

        Writes(server).Should().Be(1, "an unknown age must not postpone the rotation for ever");
        state.NextRotation.Should().Be(Now + Period);
        state.Notice.Should().Contain(GeneratedPasswordStore.GeneratedAtAnnotation).And.Contain("rotated now");
        server.Requests.Single(r => r.Method == HttpMethod.Patch).Body.Should().Contain(Stamp(Now), "the rotation records a fresh age");
    }

    [Theory]
    [InlineData(32, true)]
    [InlineData(24, false)]
    public async Task A_password_that_does_not_fit_a_changed_policy_is_replaced_at_once(int length, bool symbols)
    {
        var (store, server) = StoreWith(Stamp(Now.AddDays(-1)));

        await store.EnsureAsync("team", "orders", new PasswordPolicy { Length = length, Symbols = symbols }, null, Scope, CancellationToken.None);

        Writes(server).Should().Be(1, "a policy raised after the server refused the password must take effect without waiting for a rotation");
        var written = System.Text.Json.Nodes.JsonNode.Parse(server.Requests.Single(r => r.Method == HttpMethod.Patch).Body!)!["data"]![GeneratedPasswordStore.Key]!.GetValue<string>();
        PasswordGenerator.Fits(Encoding.UTF8.GetString(Convert.FromBase64String(written)), length, symbols).Should().BeTrue();
    }

    [Fact]
    public async Task A_refused_replacement_for_a_changed_policy_is_a_failure_that_says_why()
    {
        var (store, server) = StoreWith(Stamp(Now.AddDays(-1)), refusePatches: true);

        var state = await store.EnsureAsync("team", "orders", new PasswordPolicy { Length = 32 }, null, Scope, CancellationToken.None);

        Writes(server).Should().Be(1);
        state.FailureReason.Should().Be(ConditionReasons.SecretRejected, "a refused write must be shown, not passed over as if the password were replaced");
        state.Failure.Should().Contain("policy no-password-changes");
        state.RetryAfter.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2).And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }

    /// <summary>A webhook that is down is no refusal of the password: said as such, and tried again within a minute.</summary>
    [Fact]
    public async Task A_replacement_an_unreachable_admission_webhook_blocks_says_so_and_is_tried_again()
    {
        var (store, _) = StoreWith(Stamp(Now.AddDays(-1)), patchAnswer: FakeApiServer.Status(HttpStatusCode.InternalServerError, "InternalError",
            "Internal error occurred: failed calling webhook \\\"secrets.policy.example.com\\\": failed to call webhook: connect: connection refused"));

        var state = await store.EnsureAsync("team", "orders", new PasswordPolicy { Length = 32 }, null, Scope, CancellationToken.None);

        state.FailureReason.Should().Be(ConditionReasons.AdmissionWebhookFailed);
        state.Failure.Should().Contain("failed calling webhook").And.Contain("check that webhook's Service and Pods");
        state.RetryAfter.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2).And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }

    /// <summary>
    /// A refused password Secret is not written again before its retry is due, whatever brings the credential back; each
    /// refusal in a row waits longer; an edit of the credential is tried at once.
    /// </summary>
    [Fact]
    public async Task A_refused_password_write_is_tried_again_less_and_less_often_and_at_once_after_an_edit()
    {
        var clock = new FakeTimeProvider(Now);
        var (store, server) = StoreWith(Stamp(Now.AddDays(-1)), refusePatches: true, clock: clock);
        var policy = new PasswordPolicy { Length = 32 };

        var first = await store.EnsureAsync("team", "orders", policy, null, Scope, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10));
        var early = await store.EnsureAsync("team", "orders", policy, null, Scope, CancellationToken.None);

        Writes(server).Should().Be(1, "the retry is not due yet");
        early.FailureReason.Should().Be(ConditionReasons.SecretRejected);
        early.Failure.Should().Be(first.Failure, "the refusal stands and is said again");
        early.RetryAfter.Should().Be(first.RetryAfter - TimeSpan.FromSeconds(10), "the due time stays where the refusal put it");

        clock.Advance(early.RetryAfter!.Value);
        var second = await store.EnsureAsync("team", "orders", policy, null, Scope, CancellationToken.None);
        Writes(server).Should().Be(2);
        second.RetryAfter.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry).And.BeLessThanOrEqualTo(2 * RefusedWriteBackoff.FirstRetry,
            "the second refusal in a row waits up to twice as long");
        second.Failure.Should().Contain("tried again within 1 min, then less often (at most every 16 min); an edit of the credential is tried at once");

        clock.Advance(TimeSpan.FromSeconds(1));
        var edited = await store.EnsureAsync("team", "orders", policy, null, Scope with { Inputs = "2" }, CancellationToken.None);
        Writes(server).Should().Be(3, "an edit of the credential is the user's fix: tried at once");
        edited.RetryAfter.Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }

    /// <summary>
    /// A PipelineCredential may share the name of a managed ClusterCredential and publish under its password Secret's name
    /// with the purpose label among its spec.secret.labels: its Secret then carries both labels the store looked for. It is
    /// another credential's Secret, which the store must neither take the password from (the managed user would get a
    /// password of that credential's author) nor rotate (the two would overwrite each other for ever) nor delete.
    /// </summary>
    [Fact]
    public async Task A_Secret_another_credential_publishes_under_the_password_Secret_name_is_a_conflict_and_never_written()
    {
        var published = PasswordSecret(Stamp(Now.AddDays(-90)));
        published.Metadata.Labels[ApiGroup.ManagedByLabel] = ApiGroup.ManagedByValue;
        published.Metadata.Labels[ApiGroup.CredentialKindLabel] = PipelineCredential.KindName;
        published.Metadata.OwnerReferences =
        [
            new V1OwnerReference { ApiVersion = ApiGroup.ApiVersion, Kind = PipelineCredential.KindName, Name = "orders", Uid = "uid-pipeline-orders", Controller = true },
        ];
        var server = new FakeApiServer(request => request.Method == HttpMethod.Get
            ? FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(published))
            : FakeApiServer.Json(HttpStatusCode.OK, request.Body!));
        var clock = new FakeTimeProvider(Now);
        var store = new GeneratedPasswordStore(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server), new RefusedWriteBackoff(clock), clock);

        var state = await store.EnsureAsync("team", "orders", null, Period, Scope, CancellationToken.None);
        await store.DeleteAsync("team", "orders", CancellationToken.None);

        state.FailureReason.Should().Be(ConditionReasons.SecretConflict, "the password in it is not one Passbox generated for this credential");
        server.Requests.Where(r => r.Method != HttpMethod.Get).Should().BeEmpty("another credential's Secret is neither rotated nor deleted");
    }

    [Fact]
    public async Task A_password_that_fits_the_policy_is_kept()
    {
        var (store, server) = StoreWith(Stamp(Now.AddDays(-1)));

        await store.EnsureAsync("team", "orders", new PasswordPolicy { Length = 24, Symbols = true }, null, Scope, CancellationToken.None);

        Writes(server).Should().Be(0);
    }

    [Fact]
    public async Task A_password_younger_than_the_period_is_kept_until_the_period_is_over()
    {
        var (store, server) = StoreWith(Stamp(Now.AddDays(-1)));

        var state = await store.EnsureAsync("team", "orders", null, Period, Scope, CancellationToken.None);

        Writes(server).Should().Be(0);
        state.NextRotation.Should().Be(Now.AddDays(-1) + Period);
        state.Notice.Should().BeNull();
    }

    [Fact]
    public async Task Without_rotation_a_password_of_unknown_age_is_kept()
    {
        var (store, server) = StoreWith(null);

        var state = await store.EnsureAsync("team", "orders", null, null, Scope, CancellationToken.None);

        Writes(server).Should().Be(0);
        state.NextRotation.Should().BeNull();
        state.Notice.Should().BeNull();
    }

    /// <summary>
    /// A policy refuses changes of the password Secret, not creates. Deleting the Secret by hand, which the owner is told
    /// rotates the password at once, does so while the refused change still waits for its retry: the Secret is written
    /// anew now, not up to 16 minutes later.
    /// </summary>
    [Fact]
    public async Task A_password_Secret_deleted_by_hand_after_a_refused_write_is_written_at_once()
    {
        var clock = new FakeTimeProvider(Now);
        var deleted = false;
        var server = new FakeApiServer(request => request.Method == HttpMethod.Get
            ? deleted ? FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound") : FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(PasswordSecret(Stamp(Now.AddDays(-1)))))
            : request.Method == HttpMethod.Patch ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "secrets is forbidden: policy no-password-changes denied the change")
            : FakeApiServer.Json(HttpStatusCode.Created, request.Body!));
        var store = new GeneratedPasswordStore(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server), new RefusedWriteBackoff(clock), clock);
        var policy = new PasswordPolicy { Length = 32 };

        var refused = await store.EnsureAsync("team", "orders", policy, Period, Scope, CancellationToken.None);
        refused.FailureReason.Should().Be(ConditionReasons.SecretRejected);
        clock.Advance(TimeSpan.FromSeconds(5));
        var untouched = await store.EnsureAsync("team", "orders", policy, Period, Scope, CancellationToken.None);
        untouched.FailureReason.Should().Be(ConditionReasons.SecretRejected, "the Secret is as it was refused: its retry is not due yet");

        deleted = true;
        var state = await store.EnsureAsync("team", "orders", policy, Period, Scope, CancellationToken.None);

        server.Requests.Count(r => r.Method == HttpMethod.Patch).Should().Be(1);
        server.Requests.Count(r => r.Method == HttpMethod.Post).Should().Be(1, "the Secret deleted by hand is created at once");
        state.FailureReason.Should().BeNull();
        state.NextRotation.Should().Be(clock.GetUtcNow() + Period);
    }

    /// <summary>
    /// A policy refuses the replacement of the password and its message prints the object it had (<c>oldObject.data</c>):
    /// the password in use must not reach the condition or the event either, in any form.
    /// </summary>
    [Fact]
    public async Task A_refusal_that_quotes_the_password_being_replaced_says_why_without_it()
    {
        const string Current = "the-current-password-abc";
        var (store, _) = StoreWith(Stamp(Now.AddDays(-1)), patchAnswer: FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden",
            $"secrets is forbidden: policy keep-passwords denied replacing password={Convert.ToBase64String(Encoding.UTF8.GetBytes(Current))} ({Current})"));

        var state = await store.EnsureAsync("team", "orders", new PasswordPolicy { Length = 32 }, null, Scope, CancellationToken.None);

        state.FailureReason.Should().Be(ConditionReasons.SecretRejected);
        state.Failure.Should().Contain("policy keep-passwords denied replacing password=***");
        // Counted, not printed: a failed NotContain would show the password in the test output.
        new[] { Current, Convert.ToBase64String(Encoding.UTF8.GetBytes(Current)) }.Count(form => state.Failure!.Contains(form, StringComparison.Ordinal))
            .Should().Be(0, "the message must not hold the password in use in any form");
    }

    [Fact]
    public async Task A_refused_password_Secret_is_a_failure_that_says_why_without_the_password_and_is_tried_again_later()
    {
        // No Secret yet; a policy refuses the new one and quotes its data back (as a messageExpression printing object.data may).
        string? sent = null;
        var server = new FakeApiServer(request =>
        {
            if (request.Method == HttpMethod.Get)
            {
                return FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound");
            }

            sent = KubernetesJson.Deserialize<V1Secret>(request.Body!).Data[GeneratedPasswordStore.Key] is { } bytes ? Encoding.UTF8.GetString(bytes) : null;
            return FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden",
                $"secrets is forbidden: policy no-plain-passwords denied data.password={Convert.ToBase64String(Encoding.UTF8.GetBytes(sent!))} ({sent})");
        });
        var store = new GeneratedPasswordStore(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server), new RefusedWriteBackoff(new FakeTimeProvider(Now)), new FakeTimeProvider(Now));

        var state = await store.EnsureAsync("team", "orders", null, Period, Scope, CancellationToken.None);

        sent.Should().NotBeNullOrEmpty();
        state.FailureReason.Should().Be(ConditionReasons.SecretRejected);
        state.Failure.Should().Contain("orders-generated-password").And.Contain("policy no-plain-passwords denied");

        // Counted, not printed: a failed NotContain would show the password in the test output.
        new[] { sent!, Convert.ToBase64String(Encoding.UTF8.GetBytes(sent!)) }.Count(form => state.Failure!.Contains(form, StringComparison.Ordinal))
            .Should().Be(0, "the message must not hold the generated password in any form");
        state.RetryAfter.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2).And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }
}
