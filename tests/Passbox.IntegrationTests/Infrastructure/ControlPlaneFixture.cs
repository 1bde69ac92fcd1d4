using System.Diagnostics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// One Kubernetes API server for the whole test run: the cluster named by PASSBOX_TEST_KUBECONFIG when
/// set (as envtest's USE_EXISTING_CLUSTER), otherwise a local control plane started with
/// hack/controlplane.sh and stopped when the run ends (its watchdog also stops it if the test host dies).
/// Every crds/*.yaml of the repository is applied, plus the runtime's own test CRD.
/// </summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    public const string ExistingClusterVariable = "PASSBOX_TEST_KUBECONFIG";

    private readonly IReadOnlyDictionary<string, string> environment;
    private string? startedDirectory;

    public ControlPlaneFixture()
        : this(new Dictionary<string, string>())
    {
    }

    /// <param name="environment">Settings for hack/controlplane.sh (PASSBOX_CP_*) when it starts a local control plane.</param>
    internal ControlPlaneFixture(IReadOnlyDictionary<string, string> environment) => this.environment = environment;

    /// <summary>Admin kubeconfig path (system:masters on the local control plane).</summary>
    public string AdminKubeconfig { get; private set; } = "";

    /// <summary>Kubeconfig of the operator's own user, so its requests can be told apart in the audit log.</summary>
    public string OperatorKubeconfig { get; private set; } = "";

    /// <summary>The local control plane's state directory; null on an existing cluster.</summary>
    public string? Directory => startedDirectory;

    /// <summary>Null on an existing cluster: audit-based assertions are then skipped.</summary>
    public ControlPlaneAuditLog? AuditLog { get; private set; }

    public Kubernetes Admin { get; private set; } = null!;

    public KubernetesApiClient AdminApi { get; private set; } = null!;

    public string RepositoryRoot { get; } = FindRepositoryRoot();

    public bool IsLocal => startedDirectory is not null;

    public async Task InitializeAsync()
    {
        var existing = Environment.GetEnvironmentVariable(ExistingClusterVariable);
        if (!string.IsNullOrEmpty(existing))
        {
            AdminKubeconfig = existing;
            OperatorKubeconfig = existing;
        }
        else
        {
            startedDirectory = Path.Combine(Path.GetTempPath(), $"passbox-cp-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
            System.IO.Directory.CreateDirectory(startedDirectory);
            await RunScriptAsync("start", startedDirectory, "--watch-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            AdminKubeconfig = Path.Combine(startedDirectory, "kubeconfig");
            OperatorKubeconfig = Path.Combine(startedDirectory, "operator.kubeconfig");
            AuditLog = new ControlPlaneAuditLog(Path.Combine(startedDirectory, "audit.log"));
        }

        Admin = CreateClient(AdminKubeconfig);
        AdminApi = new KubernetesApiClient(Admin);
        await ApplyCrdsAsync();
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        if (startedDirectory is not null)
        {
            await RunScriptAsync("stop", startedDirectory);

            // It holds the cluster's tokens and certificates; nothing outlives the run.
            System.IO.Directory.Delete(startedDirectory, recursive: true);
        }
    }

    /// <summary>
    /// A client as the operator builds its own (answers that are not watches arrive buffered), but whose writes are
    /// recorded under the tests' field manager: what a test writes stands for a user's or another tool's edit, and the
    /// operator takes fields written under its own name for its own (a generated Secret's hand-over to its apply).
    /// </summary>
    public static Kubernetes CreateClient(string kubeconfig) =>
        BufferedResponses.Client(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig), TestFieldManager);

    /// <summary>The field manager of everything the tests write.</summary>
    public const string TestFieldManager = "passbox-tests";

    /// <summary>A client authenticated as the operator's user.</summary>
    public KubernetesApiClient CreateOperatorApi() => new(CreateClient(OperatorKubeconfig));

    public Task<TestNamespace> CreateNamespaceAsync(string purpose) => TestNamespace.CreateAsync(this, purpose);

    /// <summary>Runs a hack/controlplane.sh command against the local control plane (restart-apiserver, compact).</summary>
    public Task RunControlPlaneCommandAsync(string command)
    {
        if (startedDirectory is null)
        {
            throw new InvalidOperationException($"'{command}' needs the local control plane; {ExistingClusterVariable} is set.");
        }

        return RunScriptAsync(command, startedDirectory);
    }

    /// <summary>Creates or replaces a CRD and waits until it is Established.</summary>
    public async Task ApplyCrdAsync(V1CustomResourceDefinition crd)
    {
        ArgumentNullException.ThrowIfNull(crd);
        try
        {
            await Admin.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            var existing = await Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name);
            crd.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            await Admin.ApiextensionsV1.ReplaceCustomResourceDefinitionAsync(crd, crd.Metadata.Name);
        }

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            var current = await Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name);
            if (current.Status?.Conditions?.Any(c => c.Type == "Established" && c.Status == "True") == true)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"CRD {crd.Metadata.Name} did not become Established.");
    }

    private async Task ApplyCrdsAsync()
    {
        var crdDirectory = Path.Combine(RepositoryRoot, "crds");
        var files = System.IO.Directory.Exists(crdDirectory)
            ? System.IO.Directory.GetFiles(crdDirectory, "*.yaml").Order(StringComparer.Ordinal)
            : Enumerable.Empty<string>();
        foreach (var file in files)
        {
            foreach (var document in KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(file)).OfType<V1CustomResourceDefinition>())
            {
                await ApplyCrdAsync(document);
            }
        }

        await ApplyCrdAsync(ControlPlaneTestCrd.Widgets());
    }

    private async Task RunScriptAsync(params string[] arguments)
    {
        var script = Path.Combine(RepositoryRoot, "hack", "controlplane.sh");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start bash.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(15));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"controlplane.sh {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{await output}\n{await error}");
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Passbox.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (Passbox.slnx) above the test binaries.");
    }
}

[CollectionDefinition(Name)]
public sealed class ControlPlaneDefinition : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "control plane";
}
