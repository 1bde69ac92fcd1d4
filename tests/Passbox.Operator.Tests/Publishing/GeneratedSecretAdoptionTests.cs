using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Controllers;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Publishing;

/// <summary>
/// A generated Secret the cache does not show (its labels were stripped by hand) is found by the create's 409 and adopted
/// back: one read tells whose it is and carries the managed fields to hand over, so a publish reads it once.
/// </summary>
public sealed class GeneratedSecretAdoptionTests
{
    private const string Path = "/api/v1/namespaces/team/secrets/billing";

    private static readonly V1OwnerReference Owner = new() { ApiVersion = "passbox.dev/v1alpha1", Kind = "ClusterCredential", Name = "billing", Uid = "uid-billing", Controller = true };

    private static readonly SecretPayload Payload = new(
        "billing",
        "Opaque",
        new Dictionary<string, byte[]> { ["password"] = "new"u8.ToArray() },
        new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "passbox" },
        new Dictionary<string, string>());

    private static readonly SecretPayload BasicAuth = Payload with
    {
        Type = "kubernetes.io/basic-auth",
        Data = new Dictionary<string, byte[]> { ["username"] = "billing"u8.ToArray(), ["password"] = "new"u8.ToArray() },
    };

    [Fact]
    public async Task Adopting_an_own_Secret_reads_it_once_hands_over_its_created_fields_and_applies_the_payload()
    {
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path) => Secret(Live(Owner.Uid)),
            ("PATCH", Path) => Secret(Live(Owner.Uid)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Updated);
        server.Requests.Select(r => $"{r.Method} {r.ContentType}").Should().Equal(
            "POST application/json",
            "GET ",
            "PATCH application/json-patch+json",
            "PATCH application/apply-patch+yaml");
        server.Requests.Count(r => r.Method == HttpMethod.Get).Should().Be(1, "the adoption read serves the hand-over too");
        server.Requests.ElementAt(2).Body.Should().Contain("\"value\":\"7\"", "the hand-over is guarded by the resourceVersion read");
    }

    [Fact]
    public async Task A_Secret_of_someone_else_found_on_create_is_read_once_and_left_alone()
    {
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path) => Secret(Live("uid-someone-else")),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Conflict);
        server.Requests.Select(r => r.Method.Method).Should().Equal("POST", "GET");
    }

    [Fact]
    public async Task A_Secret_an_earlier_credential_of_this_name_left_is_taken_over_not_left_alone()
    {
        // Restored from a backup: Passbox's labels for this credential, the owner reference of the one backed up.
        var restored = Live("uid-backed-up");
        restored.Metadata.Labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/managed-by"] = "passbox",
            ["passbox.dev/credential"] = "billing",
            ["passbox.dev/kind"] = "ClusterCredential",
        };
        var taken = Live(Owner.Uid);
        var server = new FakeApiServer(request => (request.Method.Method, request.Path, request.ContentType) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets", _) => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path, _) => Secret(restored),
            ("PATCH", Path, "application/json-patch+json") when request.Body?.Contains("ownerReferences", StringComparison.Ordinal) == true => Secret(taken),
            ("PATCH", Path, _) => Secret(taken),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().NotBe(PublishOutcome.Conflict);
        var takeOver = server.Requests.ElementAt(2);
        takeOver.Body.Should().Contain("\"path\":\"/metadata/ownerReferences\"").And.Contain(Owner.Uid).And.NotContain("uid-backed-up")
            .And.Contain("\"path\":\"/metadata/resourceVersion\",\"value\":\"7\"", "a Secret changed since it was read is looked at again");
        server.Requests.Should().NotContain(r => r.Method == HttpMethod.Delete, "workloads mount the restored Secret");
    }

    /// <summary>
    /// Labels and an owner reference are all that mark a Secret as left by an earlier credential, and anyone who may
    /// create Secrets in the namespace can write them: a Secret placed under the name before the credential's check
    /// passes, with annotations, labels and data keys of its own that would send the credential elsewhere. The take-over
    /// removes them in the same guarded patch, before Passbox writes any credential into it.
    /// </summary>
    [Fact]
    public async Task Taking_over_a_Secret_removes_every_label_annotation_and_data_key_Passbox_does_not_write()
    {
        var squatted = Live("uid-made-up");
        squatted.Metadata.Labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/managed-by"] = "passbox",
            ["passbox.dev/credential"] = "billing",
            ["passbox.dev/kind"] = "ClusterCredential",
            ["argocd.argoproj.io/secret-type"] = "repository",
        };
        squatted.Metadata.Annotations = new Dictionary<string, string>
        {
            ["tekton.dev/git-0"] = "https://attacker.example",
            ["replicator.v1.mittwald.de/replicate-to"] = "elsewhere",
            ["passbox.dev/data-hash"] = "made-up",
            ["passbox.dev/restart-pending"] = "made-up",
        };
        squatted.Data = new Dictionary<string, byte[]> { ["password"] = "old"u8.ToArray(), ["url"] = "https://attacker.example"u8.ToArray() };
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path) => Secret(squatted),
            ("PATCH", Path) => Secret(Live(Owner.Uid)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        var takeOver = System.Text.Json.Nodes.JsonNode.Parse(server.Requests.ElementAt(2).Body!)!.AsArray();
        string? Op(string path) => takeOver.SingleOrDefault(op => (string?)op!["path"] == path)?["op"]?.GetValue<string>();
        takeOver.Single(op => (string?)op!["path"] == "/metadata/labels")!["value"]!.AsObject().Select(pair => pair.Key)
            .Should().Equal(["app.kubernetes.io/managed-by"], "only the labels the payload has stay");
        takeOver.Single(op => (string?)op!["path"] == "/metadata/annotations")!["value"]!.AsObject().Select(pair => pair.Key)
            .Should().Equal(["passbox.dev/data-hash"], "only annotations Passbox writes stay, not a restart owed by someone else");
        Op("/data/url").Should().Be("remove");
        Op("/data/password").Should().BeNull("a key Passbox writes is written by the publish that follows");
    }

    /// <summary>
    /// Whoever may create Secrets in the namespace and read the credential knows its uid: a Secret placed under the name
    /// before the first publish, owned by the credential itself, with fields of its own that would send the credential
    /// elsewhere. The status shows no Secret published, so the create's 409 cleans it in the take-over's guarded patch
    /// before the credential is written; the first publish stays a plain create, and a Secret the status shows published
    /// keeps what users added.
    /// </summary>
    [Fact]
    public async Task A_Secret_owned_by_the_credential_before_its_first_publish_is_cleaned_before_the_credential_is_written()
    {
        var squatted = Live(Owner.Uid);
        squatted.Metadata.Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "passbox", ["argocd.argoproj.io/secret-type"] = "repository" };
        squatted.Metadata.Annotations = new Dictionary<string, string> { ["tekton.dev/git-0"] = "https://attacker.example" };
        squatted.Data = new Dictionary<string, byte[]> { ["password"] = "old"u8.ToArray(), ["url"] = "https://attacker.example"u8.ToArray() };
        FakeApiServer Server() => new(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path) => Secret(squatted),
            ("PATCH", Path) => Secret(Live(Owner.Uid)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var first = Server();
        await Publisher(first).PublishAsync(Owner, "team", Payload, published: false, restartMark: null, CancellationToken.None);

        var cleaning = System.Text.Json.Nodes.JsonNode.Parse(first.Requests.ElementAt(2).Body!)!.AsArray();
        cleaning.Should().Contain(op => (string?)op!["path"] == "/metadata/uid" && (string?)op["op"] == "test", "guarded like a take-over");
        cleaning.Single(op => (string?)op!["path"] == "/metadata/labels")!["value"]!.AsObject().Select(pair => pair.Key)
            .Should().Equal(["app.kubernetes.io/managed-by"]);
        cleaning.Single(op => (string?)op!["path"] == "/metadata/annotations")!["value"]!.AsObject().Should().BeEmpty();
        cleaning.Should().Contain(op => (string?)op!["path"] == "/data/url" && (string?)op["op"] == "remove");
        first.Requests.Last().ContentType.Should().Be("application/apply-patch+yaml", "the credential is written after the cleaning");

        var steady = Server();
        await Publisher(steady).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);
        steady.Requests.Should().NotContain(r => r.Body != null && r.Body.Contains("/metadata/annotations", StringComparison.Ordinal),
            "a Secret the status shows published keeps the annotations users added");

        var fresh = new FakeApiServer(request => request.Method.Method == "POST" ? Secret(Live(Owner.Uid)) : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        await Publisher(fresh).PublishAsync(Owner, "team", Payload, published: false, restartMark: null, CancellationToken.None);
        fresh.Requests.Select(r => r.Method.Method).Should().Equal(["POST"], "the first publish is a plain create");
    }

    /// <summary>
    /// The same squatted Secret, seen by the cache before the first publish (the usual case: it was placed while the
    /// credential's check had not passed yet), is cleaned before the apply writes the credential into it.
    /// </summary>
    [Fact]
    public async Task A_cached_Secret_owned_by_the_credential_before_its_first_publish_is_cleaned_before_the_credential_is_written()
    {
        var squatted = Live(Owner.Uid);
        squatted.Metadata.Annotations = new Dictionary<string, string> { ["tekton.dev/git-0"] = "https://attacker.example" };
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("GET", Path) => Secret(Live(Owner.Uid)),
            ("PATCH", Path) => Secret(Live(Owner.Uid)),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });
        var publisher = new GeneratedSecretPublisher(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server),
            new Cached(ObservedSecret.From(squatted)), NullLogger<GeneratedSecretPublisher>.Instance);

        await publisher.PublishAsync(Owner, "team", Payload, published: false, restartMark: null, CancellationToken.None);

        var first = server.Requests.First();
        first.ContentType.Should().Be("application/json-patch+json");
        System.Text.Json.Nodes.JsonNode.Parse(first.Body!)!.AsArray().Single(op => (string?)op!["path"] == "/metadata/annotations")!["value"]!
            .AsObject().Should().BeEmpty("the squatter's annotation goes before the credential is written");
        server.Requests.Last().ContentType.Should().Be("application/apply-patch+yaml");
    }

    [Fact]
    public async Task A_taken_over_Secret_of_another_type_is_replaced_by_a_new_one_before_the_credential_is_written()
    {
        var squatted = Live("uid-made-up");
        squatted.Type = "kubernetes.io/basic-auth";
        squatted.Metadata.Labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/managed-by"] = "passbox",
            ["passbox.dev/credential"] = "billing",
            ["passbox.dev/kind"] = "ClusterCredential",
        };
        var taken = Live(Owner.Uid);
        taken.Type = squatted.Type;
        var deleted = false;
        HttpResponseMessage Delete()
        {
            deleted = true;
            return FakeApiServer.Json(HttpStatusCode.OK, """{"kind":"Status","apiVersion":"v1","status":"Success"}""");
        }

        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") when !deleted && !request.Query.Contains("dryRun", StringComparison.Ordinal) =>
                FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("POST", "/api/v1/namespaces/team/secrets") => Secret(Live(Owner.Uid)),
            ("GET", Path) => Secret(squatted),
            ("PATCH", Path) => Secret(taken),
            ("DELETE", Path) => Delete(),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        server.Requests.Select(r => $"{r.Method} {(r.Query.Contains("dryRun=All", StringComparison.Ordinal) ? "dry-run" : "")}".TrimEnd()).Should().Equal(
            "POST", "GET", "PATCH", "POST dry-run", "DELETE", "POST");
        server.Requests.ElementAt(2).Body.Should().NotContain("/data/", "a basic-auth Secret's own keys may be required; it is replaced anyway");
        server.Requests.Last().Body.Should().Contain("\"type\":\"Opaque\"", "the credential goes only into a Secret Passbox created");
    }

    [Fact]
    public async Task A_Secret_with_Passbox_labels_for_another_credential_is_left_alone()
    {
        var other = Live("uid-other");
        other.Metadata.Labels = new Dictionary<string, string>
        {
            ["app.kubernetes.io/managed-by"] = "passbox",
            ["passbox.dev/credential"] = "payroll",
            ["passbox.dev/kind"] = "ClusterCredential",
        };
        other.Metadata.OwnerReferences![0].Name = "payroll";
        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path) => Secret(other),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", Payload, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Conflict);
        server.Requests.Select(r => r.Method.Method).Should().Equal("POST", "GET");
    }

    [Fact]
    public async Task A_format_change_the_server_would_refuse_leaves_the_old_Secret_in_place()
    {
        var server = new FakeApiServer(request => (request.Method.Method, request.Path, request.Query.Contains("dryRun=All", StringComparison.Ordinal)) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets", false) => FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("GET", Path, _) => Secret(Live(Owner.Uid)),
            ("POST", "/api/v1/namespaces/team/secrets", true) => FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "admission webhook \\\"secrets.policy.example\\\" denied the request: basic-auth Secrets need approval"),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var publish = () => Publisher(server).PublishAsync(Owner, "team", BasicAuth, published: true, restartMark: null, CancellationToken.None);

        (await publish.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        server.Requests.Should().NotContain(r => r.Method == HttpMethod.Delete, "workloads mount the old Secret; only a new one the server accepts may replace it");
        var trial = server.Requests.Single(r => r.Query.Contains("dryRun=All", StringComparison.Ordinal));
        trial.Body.Should().Contain("\"generateName\":\"billing-\"", "the real name is still taken").And.Contain("kubernetes.io/basic-auth");
    }

    [Fact]
    public async Task A_format_change_the_server_accepts_replaces_the_Secret_after_a_trial_create()
    {
        var deleted = false;
        HttpResponseMessage Delete()
        {
            deleted = true;
            return FakeApiServer.Json(HttpStatusCode.OK, """{"kind":"Status","apiVersion":"v1","status":"Success"}""");
        }

        var server = new FakeApiServer(request => (request.Method.Method, request.Path) switch
        {
            ("POST", "/api/v1/namespaces/team/secrets") when !deleted && !request.Query.Contains("dryRun", StringComparison.Ordinal) =>
                FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists"),
            ("POST", "/api/v1/namespaces/team/secrets") => Secret(Live(Owner.Uid)),
            ("GET", Path) => Secret(Live(Owner.Uid)),
            ("DELETE", Path) => Delete(),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        });

        var result = await Publisher(server).PublishAsync(Owner, "team", BasicAuth, published: true, restartMark: null, CancellationToken.None);

        result.Outcome.Should().Be(PublishOutcome.Updated);
        server.Requests.Select(r => $"{r.Method} {(r.Query.Contains("dryRun=All", StringComparison.Ordinal) ? "dry-run" : "")}".TrimEnd()).Should().Equal(
            "POST", "GET", "POST dry-run", "DELETE", "POST");
    }

    /// <summary>The cache shows <paramref name="secret"/> under every name.</summary>
    private sealed class Cached(ObservedSecret secret) : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) => secret;

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }

    private static GeneratedSecretPublisher Publisher(FakeApiServer server) =>
        new(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server), new NoGeneratedSecrets(), NullLogger<GeneratedSecretPublisher>.Instance);

    /// <summary>The Secret as the server holds it: created by Passbox (an Update entry of its field manager), old data.</summary>
    private static V1Secret Live(string ownerUid) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Type = "Opaque",
        Metadata = new V1ObjectMeta
        {
            Name = "billing",
            NamespaceProperty = "team",
            Uid = "uid-secret",
            ResourceVersion = "7",
            OwnerReferences = [new V1OwnerReference { ApiVersion = Owner.ApiVersion, Kind = Owner.Kind, Name = Owner.Name, Uid = ownerUid, Controller = true }],
            ManagedFields = [new V1ManagedFieldsEntry { Manager = GeneratedSecretPublisher.FieldManager, Operation = "Update", ApiVersion = "v1" }],
        },
        Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("old") },
    };

    private static HttpResponseMessage Secret(V1Secret secret) => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(secret));
}
