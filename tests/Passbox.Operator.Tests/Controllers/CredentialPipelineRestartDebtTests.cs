using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// The restart a new password owes opted-in workloads, when the pass that published it ends before its status write:
/// an API server that keeps the generated Secret as written, and a view of it that can lag like the informer's cache.
/// </summary>
public sealed class CredentialPipelineRestartDebtTests
{
    private readonly FakeTimeProvider time = Clock();
    private readonly V1ConfigMap credential = Credential();
    private readonly SourcePasswordKind kind = new();
    private readonly FakeApiServer server;
    private string sourceVersion = "5";
    private bool samePassword;
    private V1Secret? stored;
    private V1Secret? lastApplied;
    private V1Secret? frozenView;
    private CancellationTokenSource? crashAfterApply;

    public CredentialPipelineRestartDebtTests() => server = new FakeApiServer(Respond);

    [Fact]
    public async Task A_pass_ended_between_the_new_password_and_its_status_write_leaves_the_restart_owed()
    {
        var status = new ClusterCredentialStatus();
        var first = Pipeline();
        await first.RunAsync(credential, kind, status, CancellationToken.None);
        var lastWritten = Copy(status);

        sourceVersion = "6"; // a new password; the process goes away right after the Secret took it
        using var crash = new CancellationTokenSource();
        crashAfterApply = crash;
        var pass = () => first.RunAsync(credential, kind, status, crash.Token);
        await pass.Should().ThrowAsync<OperationCanceledException>();
        Encoding.UTF8.GetString(stored!.Data["password"]).Should().Be("pw-6");
        RestartPatches().Should().Be(0);

        // Another process takes over with the status as last written: the Secret already holds the new password.
        crashAfterApply = null;
        status = lastWritten;
        var second = Pipeline();
        await second.RunAsync(credential, kind, status, CancellationToken.None);

        RestartPatches().Should().Be(1, "the workload still ran with the old password");
        status.RestartPending.Should().BeNull();
        stored!.Metadata.Annotations.Should().NotContainKey(ApiGroup.RestartPendingAnnotation, "the restart went through");

        time.Advance(TimeSpan.FromHours(2));
        await second.RunAsync(credential, kind, status, CancellationToken.None);
        RestartPatches().Should().Be(1, "it was owed once");
    }

    [Fact]
    public async Task A_new_password_restarts_the_workloads_exactly_once_even_through_a_lagging_cache()
    {
        var status = new ClusterCredentialStatus();
        var pipeline = Pipeline();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        RestartPatches().Should().Be(0, "a first Secret is nobody's new password");

        sourceVersion = "6";
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        RestartPatches().Should().Be(1);
        status.RestartPending.Should().BeNull();
        stored!.Metadata.Annotations.Should().NotContainKey(ApiGroup.RestartPendingAnnotation);

        // The cache has the Secret as the apply left it, mark and all, not yet without it.
        frozenView = lastApplied;
        frozenView!.Metadata.Annotations.Should().ContainKey(ApiGroup.RestartPendingAnnotation);
        time.Advance(TimeSpan.FromHours(2));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        RestartPatches().Should().Be(1);

        frozenView = null;
        sourceVersion = "7"; // the source Secret touched, its password the same: nothing new to restart for
        samePassword = true;
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(TimeSpan.FromHours(2));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        RestartPatches().Should().Be(1);
        status.PublishedRevision.Should().NotBe(lastApplied!.Metadata.Annotations[ApiGroup.RestartPendingAnnotation], "the touch is published too");
    }

    private int RestartPatches() => PipelineTestKit.RestartPatches(server);

    private CredentialPipeline Pipeline() => PipelineTestKit.Pipeline(server, new ServerView(this), time);

    private static ClusterCredentialStatus Copy(ClusterCredentialStatus status) =>
        KubernetesJson.Deserialize<ClusterCredentialStatus>(KubernetesJson.Serialize(status));

    private static V1Secret Copy(V1Secret secret) => KubernetesJson.Deserialize<V1Secret>(KubernetesJson.Serialize(secret));

    private HttpResponseMessage Respond(RecordedRequest request)
    {
        const string Secrets = "/api/v1/namespaces/team/secrets";
        var path = request.Path;
        if (path == $"{Secrets}/source")
        {
            return SourceSecret(sourceVersion, samePassword ? "pw-6" : "pw-" + sourceVersion);
        }

        if (path == Secrets && request.Method == HttpMethod.Post && !request.Query.Contains("dryRun", StringComparison.Ordinal))
        {
            stored = KubernetesJson.Deserialize<V1Secret>(request.Body!);
            stored.Metadata.Uid = "uid-secret";
            stored.Metadata.ResourceVersion = "1";
            return SecretResponse(HttpStatusCode.Created);
        }

        if (path == $"{Secrets}/billing")
        {
            return request.Method == HttpMethod.Patch ? Patch(request) : stored is null ? FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound") : SecretResponse(HttpStatusCode.OK);
        }

        return OptedInWorkloads(path);
    }

    /// <summary>A server-side apply takes the applied data and annotations; a merge patch here only removes annotations.</summary>
    private HttpResponseMessage Patch(RecordedRequest request)
    {
        if (request.ContentType?.Contains("apply-patch", StringComparison.Ordinal) == true)
        {
            var applied = KubernetesJson.Deserialize<V1Secret>(request.Body!);
            stored!.Data = applied.Data;
            stored.Metadata.Annotations = applied.Metadata.Annotations;
            lastApplied = Copy(stored);
            crashAfterApply?.Cancel();
        }
        else
        {
            var annotations = JsonNode.Parse(request.Body!)!["metadata"]?["annotations"]?.AsObject() ?? [];
            foreach (var (key, value) in annotations)
            {
                if (value is null)
                {
                    stored!.Metadata.Annotations?.Remove(key);
                }
            }
        }

        return SecretResponse(HttpStatusCode.OK);
    }

    private HttpResponseMessage SecretResponse(HttpStatusCode code) => FakeApiServer.Json(code, KubernetesJson.Serialize(stored));

    /// <summary>The generated Secret as the server holds it, or as a lagging cache still shows it.</summary>
    private sealed class ServerView(CredentialPipelineRestartDebtTests test) : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) =>
            (test.frozenView ?? test.stored) is { } secret && name == "billing" ? ObservedSecret.From(secret) : null;

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }
}
