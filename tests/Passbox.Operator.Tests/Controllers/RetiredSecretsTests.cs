using System.Net;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// After a rename of <c>spec.secret.name</c> the Secret under the old name goes once unused. When the API server refuses
/// that deletion (no RBAC for it, a policy), the credential still publishes under its new name and says why the old
/// Secret stays, without quoting the server, whose message may quote the old Secret's values.
/// </summary>
public sealed class RetiredSecretsTests
{
    private const string Ns = "team";
    private const string OwnerUid = "uid-billing";

    [Fact]
    public async Task An_unused_old_Secret_whose_deletion_is_refused_is_kept_and_described_without_the_servers_text()
    {
        var server = new FakeApiServer(request => request.Method.Method switch
        {
            "PATCH" => Released(),
            "DELETE" => FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "secrets billing-old is forbidden: policy quotes password=hunter22"),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var kept = await Retired(server).RetireAsync(Ns, OwnerUid, "billing", "billing-old", CancellationToken.None);

        server.Requests.Should().ContainSingle(r => r.Method == HttpMethod.Delete && r.Path == "/api/v1/namespaces/team/secrets/billing-old");
        var secret = kept.Should().ContainSingle().Which;
        secret.DeletionRefused.Should().Be(HttpStatusCode.Forbidden);
        secret.Describe().Should().Contain("Secret billing-old").And.Contain("refused to delete it (HTTP 403)").And.NotContain("hunter22");
    }

    [Fact]
    public async Task A_credential_whose_old_Secret_may_not_be_deleted_publishes_says_so_and_tries_again_within_a_minute_then_less_often()
    {
        var server = new FakeApiServer(request => request.Method.Method switch
        {
            "POST" => FakeApiServer.Json(HttpStatusCode.Created, request.Body!),
            "PATCH" => Released(),
            "DELETE" => FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "secrets billing-old is forbidden"),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });
        var status = new ClusterCredentialStatus { SecretName = "billing-old" };
        var time = PipelineTestKit.Clock();
        var pipeline = PipelineTestKit.Pipeline(server, new OneOldSecret(), time, scope: ScopeOf(Ns));

        var requeue = await pipeline.RunAsync(PipelineTestKit.Credential(), new LogsIn(), status, CancellationToken.None);

        status.SecretName.Should().Be("billing");
        var synced = status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced);
        synced.Status.Should().Be("True", "the credential's Secret under its new name is published");
        synced.Message.Should().Contain("Secret billing-old (the previous name) is unused but the API server refused to delete it (HTTP 403)");
        synced.Message.Should().Contain("tried again within 1 min, then less often (at most every 16 min)");
        requeue.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2, "RBAC or a policy is fixed elsewhere, with no event for this credential")
            .And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);

        time.Advance(requeue!.Value);
        var again = await pipeline.RunAsync(PipelineTestKit.Credential(), new LogsIn(), status, CancellationToken.None);

        server.Requests.Count(r => r.Method == HttpMethod.Delete).Should().Be(2);
        again.Should().BeGreaterThan(requeue.Value, "a second refusal in a row waits longer")
            .And.BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry).And.BeLessThanOrEqualTo(2 * RefusedWriteBackoff.FirstRetry);
    }

    /// <summary>
    /// While the users cannot be known the old Secret stays. A listing under way ends within moments, so the credential
    /// looks again in a second; one that fails (no RBAC for a kind) is said, and not looked at every second meanwhile.
    /// </summary>
    [Fact]
    public async Task An_old_Secret_whose_users_cannot_be_listed_stays_says_why_and_is_not_rechecked_every_second()
    {
        var server = new FakeApiServer(request => request.Method == HttpMethod.Post
            ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var scope = ScopeOf(Ns);
        var listing = scope.Kinds.Begin(UsageKinds.PipelineRun, "pipelineruns.tekton.dev");
        var pipeline = PipelineTestKit.Pipeline(server, new OneOldSecret(), PipelineTestKit.Clock(), scope: scope);

        var status = new ClusterCredentialStatus { SecretName = "billing-old" };
        var listingRequeue = await pipeline.RunAsync(PipelineTestKit.Credential(), new LogsIn(), status, CancellationToken.None);
        scope.Kinds.Failed(listing, "listing pipelineruns.tekton.dev failed: 403 Forbidden");
        var failedRequeue = await pipeline.RunAsync(PipelineTestKit.Credential(), new LogsIn(), status, CancellationToken.None);

        server.Requests.Should().NotContain(r => r.Method == HttpMethod.Delete, "no users known yet means not known, not unused");
        listingRequeue.Should().Be(CredentialPipeline.ShortestRecheck);
        failedRequeue.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2).And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
        status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Message.Should()
            .Contain("Secret billing-old (the previous name) stays until the operator knows what uses it (listing pipelineruns.tekton.dev failed: 403 Forbidden)");
    }

    [Fact]
    public async Task An_old_Secret_the_cache_lacks_and_the_server_will_not_show_is_described_as_a_refused_read()
    {
        // The previous name is not in the cache (not seen yet), so it is read before its deletion; that read is refused.
        var server = new FakeApiServer(request => request.Method == HttpMethod.Get
            ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "secrets billing-old is forbidden")
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));

        var kept = await Retired(server, new NoSecrets()).RetireAsync(Ns, OwnerUid, "billing", "billing-old", CancellationToken.None);

        server.Requests.Should().NotContain(r => r.Method == HttpMethod.Delete);
        kept.Should().ContainSingle().Which.Describe().Should()
            .Contain("refused to read it before deleting it (HTTP 403)").And.Contain("let the operator get and delete secrets");
    }

    [Fact]
    public async Task An_unused_old_Secret_is_deleted_and_not_kept()
    {
        var server = new FakeApiServer(request => request.Method.Method switch
        {
            "PATCH" => Released(),
            "DELETE" => FakeApiServer.Json(HttpStatusCode.OK, """{"kind":"Status","apiVersion":"v1","status":"Success"}"""),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var kept = await Retired(server).RetireAsync(Ns, OwnerUid, "billing", "billing-old", CancellationToken.None);

        kept.Should().BeEmpty();
        server.Requests.Select(r => r.Method.Method).Should().Equal(["PATCH", "DELETE"], "the finalizer comes off first, or the Secret would wait for good");
        server.Requests.First().Body.Should().Contain("\"$deleteFromPrimitiveList/finalizers\":[\"passbox.dev/in-use-protection\"]").And.Contain("\"uid\":\"uid-old\"");
    }

    /// <summary>An old Secret of a version before the finalizer: the cache may lag behind a finalizer just added, so it is read first.</summary>
    [Fact]
    public async Task An_old_Secret_cached_without_the_finalizer_is_read_before_its_deletion()
    {
        var server = new FakeApiServer(request => request.Method.Method switch
        {
            "GET" => FakeApiServer.Json(HttpStatusCode.OK, $$$"""{"kind":"Secret","apiVersion":"v1","metadata":{"name":"billing-old","uid":"uid-old","ownerReferences":[{"apiVersion":"passbox.dev/v1alpha1","kind":"ClusterCredential","name":"billing","uid":"{{{OwnerUid}}}"}],"finalizers":["passbox.dev/in-use-protection"]}}"""),
            "PATCH" => Released(),
            "DELETE" => FakeApiServer.Json(HttpStatusCode.OK, """{"kind":"Status","apiVersion":"v1","status":"Success"}"""),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var kept = await Retired(server, new OneOldSecret(protectedInCache: false)).RetireAsync(Ns, OwnerUid, "billing", "billing-old", CancellationToken.None);

        kept.Should().BeEmpty();
        server.Requests.Select(r => r.Method.Method).Should().Equal(["GET", "PATCH", "DELETE"]);
    }

    private static HttpResponseMessage Released() =>
        FakeApiServer.Json(HttpStatusCode.OK, """{"kind":"Secret","apiVersion":"v1","metadata":{"name":"billing-old","uid":"uid-old"}}""");

    private static RetiredSecrets Retired(FakeApiServer server, IGeneratedSecretView? cache = null)
    {
        var view = cache ?? new OneOldSecret();
        var scope = ScopeOf(Ns);
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server);
        return new RetiredSecrets(view, new UsageIndex(), scope, new GeneratedSecretPublisher(client, view, NullLogger<GeneratedSecretPublisher>.Instance));
    }

    /// <summary>No informer fills the namespace: its users are known (none).</summary>
    private static UsageScope ScopeOf(string @namespace)
    {
        var scope = new UsageScope();
        scope.Namespaces.Include(@namespace);
        return scope;
    }

    private sealed class LogsIn : TestCredentialKind
    {
        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(ValidationOutcome.Success("logged in"));
    }

    /// <summary>The cache holds no Secret of the credential.</summary>
    private sealed class NoSecrets : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) => null;

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }

    /// <summary>The cache holds the credential's Secret under its old name.</summary>
    private sealed class OneOldSecret(bool protectedInCache = true) : IGeneratedSecretView
    {
        private readonly ObservedSecret old = new("uid-old", "Opaque", "hash", new Dictionary<string, string>(), new Dictionary<string, string>(), [OwnerUid],
            protectedInCache ? [ApiGroup.InUseFinalizer] : [], false);

        public ObservedSecret? Find(string namespaceName, string name) => name == "billing-old" ? old : null;

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => ownerUid == OwnerUid ? ["billing-old"] : [];
    }
}
