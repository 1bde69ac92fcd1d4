using System.Globalization;
using System.Text;
using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Pipeline;

/// <summary>
/// An API server for the KubernetesAPI probe tests: the local control plane from
/// <c>hack/controlplane.sh</c> (its <c>ci-deployer</c> token), or the one whose <c>env</c> file
/// <c>PASSBOX_TEST_CONTROLPLANE_ENV</c> names. When the script is not in the repository yet,
/// a <see cref="StandInApiServer"/> takes its place (<see cref="IsRealControlPlane"/> is false).
/// </summary>
public sealed class KubernetesApiFixture : IAsyncLifetime
{
    private string? stateDir;
    private StandInApiServer? standIn;

    public bool IsRealControlPlane { get; private set; }

    /// <summary><c>https://127.0.0.1:&lt;port&gt;</c>.</summary>
    public string Server { get; private set; } = string.Empty;

    public string CertificateAuthorityPem { get; private set; } = string.Empty;

    /// <summary>A token the API server accepts.</summary>
    public string Token { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var existing = Environment.GetEnvironmentVariable("PASSBOX_TEST_CONTROLPLANE_ENV");
        var script = FindScript();
        if (!string.IsNullOrEmpty(existing))
        {
            UseControlPlane(ServiceScript.ReadEnv(existing));
        }
        else if (script is not null)
        {
            stateDir = Directory.CreateTempSubdirectory("passbox-it-cp-").FullName;
            await RunAsync(script, "start", stateDir, "--watch-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            UseControlPlane(ServiceScript.ReadEnv(Path.Combine(stateDir, "env")));
        }
        else
        {
            standIn = await StandInApiServer.StartAsync();
            Server = standIn.Server;
            CertificateAuthorityPem = standIn.CertificateAuthorityPem;
            Token = standIn.Token;
        }
    }

    public async Task DisposeAsync()
    {
        if (standIn is not null)
        {
            await standIn.DisposeAsync();
        }

        if (stateDir is not null)
        {
            await RunAsync(FindScript()!, "stop", stateDir);
            try
            {
                Directory.Delete(stateDir, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp directory is harmless once the control plane is stopped.
            }
        }
    }

    /// <summary>
    /// A kubeconfig with one cluster <c>test</c>, context <c>ci</c> (current) and user <c>deployer</c>
    /// whose <c>user:</c> body is <paramref name="userBody"/> (default: the good token).
    /// </summary>
    public string Kubeconfig(string? userBody = null, string? certificateAuthorityPem = null, string? server = null, string? tlsServerName = null)
    {
        var serverName = tlsServerName is null ? string.Empty : $"\n    tls-server-name: {tlsServerName}";
        var ca = Convert.ToBase64String(Encoding.UTF8.GetBytes(certificateAuthorityPem ?? CertificateAuthorityPem));
        var user = (userBody ?? $"token: {Token}").Replace("\n", "\n    ", StringComparison.Ordinal);
        return $"""
            apiVersion: v1
            kind: Config
            current-context: ci
            clusters:
            - name: test
              cluster:
                server: {server ?? Server}
                certificate-authority-data: {ca}{serverName}
            contexts:
            - name: ci
              context:
                cluster: test
                user: deployer
            users:
            - name: deployer
              user:
                {user}

            """;
    }

    private void UseControlPlane(Dictionary<string, string> env)
    {
        IsRealControlPlane = true;
        Server = env["KUBE_SERVER"];
        CertificateAuthorityPem = File.ReadAllText(env["KUBE_CA_FILE"]);
        Token = env["CI_TOKEN"];
    }

    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "hack", "controlplane.sh");
            if (File.Exists(script))
            {
                return script;
            }

            if (Directory.Exists(Path.Combine(dir.FullName, "hack", "services")))
            {
                return null;
            }
        }

        return null;
    }

    // The first start may build the control plane from source.
    private static Task RunAsync(string script, params string[] arguments) =>
        BashScript.RunAsync(script, arguments, TimeSpan.FromMinutes(30), "hack/controlplane.sh");
}

[CollectionDefinition(Name)]
public sealed class KubernetesApiCollectionDefinition : ICollectionFixture<KubernetesApiFixture>
{
    public const string Name = "KubernetesApi";
}
