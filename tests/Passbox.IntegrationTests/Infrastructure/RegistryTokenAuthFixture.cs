using System.Diagnostics;
using System.Globalization;
using System.Net;
using Passbox.IntegrationTests.Pipeline;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's docker-registry with token authentication: <c>/v2/</c> answers a Bearer challenge
/// naming <see cref="RegistryTokenService"/> (ASP.NET Core on loopback) as realm, and accepts the
/// JWTs it signs. The registry runs under a small bash watchdog that stops it when the test process
/// goes away.
/// </summary>
public sealed class RegistryTokenAuthFixture : IAsyncLifetime
{
    public const string Service = "passbox-test-registry";
    private string stateDir = string.Empty;
    private Process? registry;

    public RegistryTokenService Tokens { get; private set; } = null!;

    /// <summary><c>http://127.0.0.1:&lt;port&gt;</c> of the registry.</summary>
    public string Url { get; private set; } = string.Empty;

    public string User => Tokens.User;

    public string Password => Tokens.Password;

    public async Task InitializeAsync()
    {
        Tokens = await RegistryTokenService.StartAsync("ci-bot", RegistryFixture.NewPassword());
        stateDir = Directory.CreateTempSubdirectory("passbox-it-registry-token-").FullName;
        var bundle = Path.Combine(stateDir, "token-signer.pem");
        await File.WriteAllTextAsync(bundle, Tokens.SigningCertificatePem);
        Directory.CreateDirectory(Path.Combine(stateDir, "storage"));

        for (var attempt = 1; ; attempt++)
        {
            var port = LoopbackPorts.Unused();
            var config = Path.Combine(stateDir, "config.yml");
            await File.WriteAllTextAsync(config, $"""
                version: 0.1
                log:
                  level: info
                storage:
                  filesystem:
                    rootdirectory: {stateDir}/storage
                http:
                  addr: 127.0.0.1:{port}
                  secret: {Guid.NewGuid():N}
                auth:
                  token:
                    realm: {Tokens.Realm}
                    service: {Service}
                    issuer: {Tokens.Issuer}
                    rootcertbundle: {bundle}
                health:
                  storagedriver:
                    enabled: false

                """);
            registry = StartWatched(config, Path.Combine(stateDir, "registry.log"));
            Url = $"http://127.0.0.1:{port}";
            if (await WaitForChallengeAsync(registry))
            {
                return;
            }

            Stop();
            if (attempt == 3)
            {
                var log = File.Exists(Path.Combine(stateDir, "registry.log")) ? await File.ReadAllTextAsync(Path.Combine(stateDir, "registry.log")) : string.Empty;
                throw new InvalidOperationException($"docker-registry with token auth did not start (is it installed? hack/deps.sh):\n{log}");
            }
        }
    }

    public async Task DisposeAsync()
    {
        Stop();
        await Tokens.DisposeAsync();
        try
        {
            Directory.Delete(stateDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless once the registry is stopped.
        }
    }

    /// <summary>
    /// docker-registry in the background of a bash that ends it when this test process or the
    /// bash's own stdin (closed on dispose) goes away.
    /// </summary>
    private static Process StartWatched(string config, string log)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""
            docker-registry serve "$1" </dev/null >"$2" 2>&1 &
            registry=$!
            trap 'kill "$registry" 2>/dev/null; wait "$registry" 2>/dev/null; exit 0' TERM INT
            while kill -0 "$3" 2>/dev/null && kill -0 "$registry" 2>/dev/null; do
              read -r -t 0.5 _ && continue
              [[ $? -gt 128 ]] || break
            done
            kill "$registry" 2>/dev/null
            wait "$registry" 2>/dev/null
            """);
        start.ArgumentList.Add("registry-watchdog");
        start.ArgumentList.Add(config);
        start.ArgumentList.Add(log);
        start.ArgumentList.Add(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return Process.Start(start) ?? throw new InvalidOperationException("Cannot start bash.");
    }

    private async Task<bool> WaitForChallengeAsync(Process watchdog)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !watchdog.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(new Uri(Url + "/v2/"));
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        return false;
    }

    private void Stop()
    {
        if (registry is null)
        {
            return;
        }

        if (!registry.HasExited)
        {
            // Closing stdin ends the watchdog loop, which stops the registry and waits for it.
            registry.StandardInput.Close();
            if (!registry.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                registry.Kill(entireProcessTree: true);
            }
        }

        registry.Dispose();
        registry = null;
    }
}

[CollectionDefinition(Name)]
public sealed class RegistryTokenAuthCollectionDefinition : ICollectionFixture<RegistryTokenAuthFixture>
{
    public const string Name = "RegistryTokenAuth";
}
