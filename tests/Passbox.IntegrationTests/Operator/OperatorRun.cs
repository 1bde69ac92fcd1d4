using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// One end-to-end test's operator: a fresh namespace, the real operator watching it, and, whenever an operator stops,
/// the check that none of the values the test marked secret appears in its logs, the events or a credential's status.
/// A test may stop and start the operator (a restart, an outage); the namespace and all in it stay.
/// </summary>
public sealed class OperatorRun : IAsyncDisposable
{
    private readonly List<string> secrets = [];
    private readonly ControlPlaneFixture controlPlane;
    private readonly TestNamespace ns;
    private OperatorHost? host;
    private bool watchEveryNamespace;

    private OperatorRun(ControlPlaneFixture controlPlane, TestNamespace ns, ClusterTestKit kit, OperatorHost host)
    {
        this.controlPlane = controlPlane;
        this.ns = ns;
        Kit = kit;
        this.host = host;
    }

    public ClusterTestKit Kit { get; }

    public string Namespace => Kit.Namespace;

    /// <summary>The operator running now.</summary>
    public OperatorHost Host => host ?? throw new InvalidOperationException("The operator is stopped.");

    public static async Task<OperatorRun> StartAsync(ControlPlaneFixture controlPlane, string namespacePrefix)
    {
        var ns = await controlPlane.CreateNamespaceAsync(namespacePrefix);
        try
        {
            var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name);
            return new OperatorRun(controlPlane, ns, new ClusterTestKit(controlPlane, ns.Name), host);
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>Values that must never show up in logs, events or status: passwords, tokens, kubeconfigs.</summary>
    public void MarkSecret(params string[] values) => secrets.AddRange(values);

    /// <summary>Stops the operator gracefully, after checking what it logged.</summary>
    public async Task StopOperatorAsync()
    {
        if (Interlocked.Exchange(ref host, null) is not { } stopping)
        {
            return;
        }

        try
        {
            await Kit.AssertNothingLeakedAsync(stopping, [.. secrets]);
        }
        finally
        {
            await stopping.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts a new operator on the same namespace; it finds everything as the last one left it. With
    /// <paramref name="everyNamespace"/> it watches all namespaces, as a cluster-wide installation does (and so do the
    /// restarts after it): what only such an installation reads, cluster-scoped kinds, is then read too.
    /// </summary>
    public async Task StartOperatorAsync(bool everyNamespace = false)
    {
        if (host is not null)
        {
            throw new InvalidOperationException("The operator already runs.");
        }

        watchEveryNamespace |= everyNamespace;
        host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, watchEveryNamespace ? string.Empty : ns.Name);
    }

    public async Task RestartOperatorAsync()
    {
        await StopOperatorAsync();
        await StartOperatorAsync();
    }

    /// <summary>
    /// Counts the values under <paramref name="keys"/> of every Secret in the namespace as secrets too (passwords the
    /// operator generated, tokens made of them), then disposes: the leak check then covers what only the run knew.
    /// </summary>
    public async ValueTask DisposeMarkingGeneratedAsync(params string[] keys)
    {
        try
        {
            MarkSecret([.. await Kit.SecretValuesAsync(keys)]);
        }
        finally
        {
            await DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopOperatorAsync();
        }
        finally
        {
            await ns.DisposeAsync();
        }
    }
}
