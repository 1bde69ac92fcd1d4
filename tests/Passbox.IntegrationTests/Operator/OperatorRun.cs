using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// One end-to-end test's operator: a fresh namespace, the real operator watching it, and, when the test ends, the check
/// that none of the values the test marked secret appears in the operator's logs, the events or a credential's status.
/// </summary>
public sealed class OperatorRun : IAsyncDisposable
{
    private readonly List<string> secrets = [];
    private readonly TestNamespace ns;
    private readonly OperatorHost host;

    private OperatorRun(TestNamespace ns, ClusterTestKit kit, OperatorHost host)
    {
        this.ns = ns;
        Kit = kit;
        this.host = host;
    }

    public ClusterTestKit Kit { get; }

    public string Namespace => Kit.Namespace;

    public static async Task<OperatorRun> StartAsync(ControlPlaneFixture controlPlane, string namespacePrefix)
    {
        var ns = await controlPlane.CreateNamespaceAsync(namespacePrefix);
        try
        {
            var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name);
            return new OperatorRun(ns, new ClusterTestKit(controlPlane, ns.Name), host);
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>Values that must never show up in logs, events or status: passwords, tokens, kubeconfigs.</summary>
    public void MarkSecret(params string[] values) => secrets.AddRange(values);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Kit.AssertNothingLeakedAsync(host, [.. secrets]);
        }
        finally
        {
            await host.DisposeAsync();
            await ns.DisposeAsync();
        }
    }
}
