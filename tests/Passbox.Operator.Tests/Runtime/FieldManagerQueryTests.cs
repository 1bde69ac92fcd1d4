using System.Net;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// Every write the operator's client sends names the operator as its field manager; the API server would otherwise record
/// it under KubernetesClient's User-Agent, <c>kubernetes-csharp</c>.
/// </summary>
public sealed class FieldManagerQueryTests
{
    private const string SecretJson = """{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"team-a","resourceVersion":"7"},"type":"Opaque"}""";

    [Fact]
    public async Task Creates_updates_and_patches_of_the_typed_client_and_of_raw_requests_name_the_operator()
    {
        using var server = new FakeApiServer(_ => FakeApiServer.Json(HttpStatusCode.OK, SecretJson));
        using var wired = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new FieldManagerQuery(), server);
        var secret = KubernetesJson.Deserialize<V1Secret>(SecretJson);

        await wired.CoreV1.CreateNamespacedSecretAsync(secret, "team-a");
        await wired.CoreV1.ReplaceNamespacedSecretAsync(secret, "db", "team-a");
        await wired.CoreV1.PatchNamespacedSecretAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "db", "team-a", dryRun: "All");
        await new KubernetesApiClient(wired).PostAsync<V1Secret>("api/v1/namespaces/team-a/secrets", secret, CancellationToken.None);

        server.Requests.Select(r => r.Query).Should().AllSatisfy(query => query.Should().Contain("fieldManager=passbox"));
        server.Requests.Last().Query.Should().Be("?fieldManager=passbox");
        server.Requests.ElementAt(2).Query.Should().Contain("dryRun=All");
    }

    [Fact]
    public async Task A_write_that_names_its_manager_keeps_it_and_reads_and_deletes_go_as_they_are()
    {
        using var server = new FakeApiServer(_ => FakeApiServer.Json(HttpStatusCode.OK, SecretJson));
        using var wired = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new FieldManagerQuery(), server);

        await wired.CoreV1.PatchNamespacedSecretAsync(new V1Patch("{}", V1Patch.PatchType.ApplyPatch), "db", "team-a", fieldManager: "someone", force: true);
        await wired.CoreV1.ReadNamespacedSecretAsync("db", "team-a");
        await wired.CoreV1.DeleteNamespacedSecretAsync("db", "team-a");

        var requests = server.Requests.ToList();
        requests[0].Query.Should().Contain("fieldManager=someone").And.NotContain("fieldManager=passbox");
        requests[1].Query.Should().BeEmpty();
        requests[2].Query.Should().NotContain("fieldManager");
    }

    [Fact]
    public async Task A_client_that_is_not_the_operator_s_records_its_writes_under_its_own_name()
    {
        // The tests' client stands for a user's edits: under the operator's name they would pass for the operator's own.
        using var server = new FakeApiServer(_ => FakeApiServer.Json(HttpStatusCode.OK, SecretJson));
        using var wired = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, new FieldManagerQuery("passbox-tests"), server);

        await wired.CoreV1.PatchNamespacedSecretAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "db", "team-a");

        server.Requests.Single().Query.Should().Be("?fieldManager=passbox-tests");
    }
}
