using System.Diagnostics;
using System.Net;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A control-plane upgrade restarts the API server under a running operator. The operator must ride it out: keep every
/// Secret it published (workloads mount them), write nothing for credentials that did not change, be ready again once
/// the server is, and pick up changes made after the restart from its resumed watches. Without leader election: an
/// outage longer than the lease's renew deadline (10 s) makes a leader give up its lease and exit to restart as a
/// candidate, by design, and a loaded machine could stretch the restart that far; a leader riding out a shorter outage
/// is LeaderElectionTests'. In the collection whose control plane may be restarted.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class ApiServerRestartTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const string FirstToken = "restart-test-token-before";
    private const string SecondToken = "restart-test-token-after";

    [SkippableFact]
    public async Task The_operator_rides_out_an_API_server_restart_and_applies_changes_made_after_it()
    {
        Skip.IfNot(controlPlane.IsLocal, "restarts the API server: needs the local control plane");
        await using var ns = await controlPlane.CreateNamespaceAsync("apirestart");
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name);
        var kit = new ClusterTestKit(controlPlane, ns.Name);
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = ClusterTestKit.DefaultWait };

        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = FirstToken });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("ci-token"));
        var before = await kit.WaitForConditionAsync<PipelineCredential>("ci-token", ConditionTypes.Ready, "True");
        var published = await kit.WaitForSecretAsync("ci-token", s => ClusterTestKit.Decode(s).ContainsValue(FirstToken));

        var restart = Stopwatch.StartNew();
        await controlPlane.RunControlPlaneCommandAsync("restart-apiserver");
        output.WriteLine($"API server restarted in {restart.Elapsed.TotalSeconds:F1} s");
        await ClusterTestKit.EventuallyAsync(() => http.GetAsync(new Uri("/readyz", UriKind.Relative)),
            response => response.StatusCode == HttpStatusCode.OK, "the operator to be ready again");

        // Resumed watches and a relist, if one happened, find nothing changed: nothing is written.
        (await kit.GetAsync<PipelineCredential>("ci-token"))!.Metadata.ResourceVersion.Should().Be(before.Metadata.ResourceVersion,
            "an unchanged credential's status is not rewritten after a reconnect");
        var kept = (await kit.TryGetSecretAsync("ci-token"))!;
        (kept.Metadata.Uid, kept.Metadata.ResourceVersion).Should().Be((published.Metadata.Uid, published.Metadata.ResourceVersion),
            "the published Secret is neither re-created nor rewritten");

        // A change made after the restart reaches the generated Secret: the watches resumed.
        await kit.SetSecretValueAsync("token-input", "token", SecondToken);
        var updated = await kit.WaitForSecretAsync("ci-token", s => ClusterTestKit.Decode(s).ContainsValue(SecondToken));
        updated.Metadata.Uid.Should().Be(published.Metadata.Uid, "updated in place");

        host.LogLines.Should().NotContain(line => line.StartsWith("Critical", StringComparison.Ordinal));
        await kit.AssertNothingLeakedAsync(host, FirstToken, SecondToken);
    }
}
