using System.Net;
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
/// The pipeline with an API server whose first restart of an opted-in Deployment fails: the restart is recorded as
/// owed in the status and a later reconcile does it.
/// </summary>
public sealed class CredentialPipelineRestartTests
{
    private readonly FakeTimeProvider time = Clock();
    private readonly V1ConfigMap credential = Credential();
    private readonly SourcePasswordKind kind = new();
    private string sourceVersion = "5";
    private int restartRefusals = 1;

    [Fact]
    public async Task A_restart_that_failed_after_a_new_password_was_published_is_done_by_a_later_reconcile()
    {
        var server = new FakeApiServer(Respond);
        var pipeline = Pipeline(server);
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        status.PublishedRevision.Should().NotBeNull();

        sourceVersion = "6"; // a new password
        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        RestartPatches(server).Should().Be(1);
        status.RestartPending.Should().Be(status.PublishedRevision, "the workload still runs with the old password");
        requeue.Should().BeLessThanOrEqualTo(ValidationPlanner.TransientBase, "the restart is retried soon, not at the next check");
        var failed = status.Conditions!.Single(c => c.Type == ConditionTypes.WorkloadsRestarted);
        (failed.Status, failed.Reason).Should().Be(("False", ConditionReasons.RestartFailed));
        failed.Message.Should().Contain("Deployment api (HTTP 500)");

        time.Advance(requeue!.Value);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        RestartPatches(server).Should().Be(2);
        status.RestartPending.Should().BeNull();
        var restarted = status.Conditions!.Single(c => c.Type == ConditionTypes.WorkloadsRestarted);
        (restarted.Status, restarted.Reason, restarted.Message).Should().Be(("True", ConditionReasons.Restarted, "Secret billing changed: restarted Deployment api"));
        kind.Logins.Should().Be(2, "retrying the restart is no reason to log in again");
    }

    private HttpResponseMessage Respond(RecordedRequest request)
    {
        var path = request.Path;
        if (path == "/api/v1/namespaces/team/secrets/source")
        {
            return SourceSecret(sourceVersion, "pw-" + sourceVersion);
        }

        if (path == "/api/v1/namespaces/team/secrets/billing")
        {
            // The generated Secret as the server holds it: owned by the credential (an update reads it to check that).
            return FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = "team", OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "billing", Uid = "uid-billing", Controller = true }] },
            }));
        }

        // The first restart of the opted-in Deployment fails.
        if (path == "/apis/apps/v1/namespaces/team/deployments/api" && Interlocked.Decrement(ref restartRefusals) >= 0)
        {
            return FakeApiServer.Status(HttpStatusCode.InternalServerError, "InternalError");
        }

        return OptedInWorkloads(path);
    }

    private CredentialPipeline Pipeline(FakeApiServer server) => PipelineTestKit.Pipeline(server, new StaleView(credential.Metadata.Uid), time);

    /// <summary>The credential's Secret exists with other data, so every publish updates it.</summary>
    private sealed class StaleView(string ownerUid) : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) =>
            new("uid-secret", "Opaque", "stale-hash", new Dictionary<string, string>(), new Dictionary<string, string>(), [ownerUid], [ApiGroup.InUseFinalizer], false);

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }
}
