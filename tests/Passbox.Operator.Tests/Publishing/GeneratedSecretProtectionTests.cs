using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Publishing;

/// <summary>
/// A generated Secret of a version before the in-use finalizer matches its credential and only lacks the finalizer.
/// When the cached copy is gone by the time the finalizer is patched on (deleted, or replaced under the same name), the
/// publish carries on as if the cache had never shown it, instead of failing the reconcile with the patch's error.
/// </summary>
public sealed class GeneratedSecretProtectionTests
{
    private const string Collection = "/api/v1/namespaces/team/secrets";
    private const string Path = Collection + "/billing";

    private static readonly V1OwnerReference Owner = new() { ApiVersion = "passbox.dev/v1alpha1", Kind = "ClusterCredential", Name = "billing", Uid = "uid-billing", Controller = true };

    private static readonly SecretPayload Payload = new(
        "billing",
        "Opaque",
        new Dictionary<string, byte[]> { ["password"] = "current"u8.ToArray() },
        new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "passbox" },
        new Dictionary<string, string>());

    [Fact]
    public async Task An_unprotected_Secret_deleted_before_its_finalizer_is_added_is_published_anew()
    {
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("PATCH", Path) => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
            ("POST", Collection) => Json(Secret("uid-new", Owner.Uid, protect: true)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Created);
        server.Requests.Select(r => r.Method.Method).Should().Equal("PATCH", "POST");
        server.Requests.Last().Body.Should().Contain(ApiGroup.InUseFinalizer, "the Secret published anew is protected from its first moment");
    }

    [Fact]
    public async Task An_unprotected_Secret_replaced_by_someone_else_before_its_finalizer_is_added_is_reported_as_foreign()
    {
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("PATCH", Path) => FakeApiServer.Status(HttpStatusCode.Conflict, "Conflict", "Precondition failed: UID in precondition: uid-old, UID in object meta: uid-other"),
            ("POST", Collection) => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path) => Json(Secret("uid-other", "uid-someone-else", protect: false)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Conflict, "the name now belongs to a Secret Passbox did not generate");
        server.Requests.Select(r => r.Method.Method).Should().Equal("PATCH", "POST", "GET");
    }

    [Fact]
    public async Task An_unprotected_Secret_that_is_still_there_gets_the_finalizer_in_one_patch()
    {
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("PATCH", Path) => Json(Secret("uid-old", Owner.Uid, protect: true)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Unchanged);
        server.Requests.Should().ContainSingle().Which.Body.Should().Contain("\"uid\":\"uid-old\"").And.Contain(ApiGroup.InUseFinalizer);
    }

    private static GeneratedSecretPublisher Publisher(FakeApiServer server) =>
        new(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server), new CachedUnprotected(), NullLogger<GeneratedSecretPublisher>.Instance);

    /// <summary>The Secret as published, with the hashes of <see cref="Payload"/>; without the finalizer unless asked.</summary>
    private static V1Secret Secret(string uid, string ownerUid, bool protect) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Type = Payload.Type,
        Metadata = new V1ObjectMeta
        {
            Name = Payload.Name,
            NamespaceProperty = "team",
            Uid = uid,
            ResourceVersion = "7",
            Labels = new Dictionary<string, string>(Payload.Labels),
            Annotations = new Dictionary<string, string>
            {
                [ApiGroup.DataHashAnnotation] = Payload.DataHash,
                [ApiGroup.MetadataHashAnnotation] = Payload.MetadataHash,
            },
            OwnerReferences = [new V1OwnerReference { ApiVersion = Owner.ApiVersion, Kind = Owner.Kind, Name = Owner.Name, Uid = ownerUid, Controller = true }],
            Finalizers = protect ? [ApiGroup.InUseFinalizer] : null,
        },
        Data = new Dictionary<string, byte[]>(Payload.Data),
    };

    private static HttpResponseMessage Json(V1Secret secret) => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(secret));

    /// <summary>The cache still shows the old, unprotected Secret of this credential, up to date.</summary>
    private sealed class CachedUnprotected : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) => ObservedSecret.From(Secret("uid-old", Owner.Uid, protect: false));

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [Payload.Name];
    }
}
