using System.Net;
using Passbox.IntegrationTests.Pipeline;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's docker-registry with token authentication: <c>/v2/</c> answers a Bearer challenge
/// naming <see cref="RegistryTokenService"/> (ASP.NET Core on loopback) as realm, and accepts the
/// JWTs it signs. The registry runs as a <see cref="WatchedProcess"/>: it stops when the test process
/// goes away.
/// </summary>
public sealed class RegistryTokenAuthFixture : IAsyncLifetime
{
    public const string Service = "passbox-test-registry";
    private string stateDir = string.Empty;
    private WatchedProcess? registry;

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
            registry = WatchedProcess.Start(Path.Combine(stateDir, "registry.log"), "docker-registry", "serve", config);
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

    private async Task<bool> WaitForChallengeAsync(WatchedProcess watchdog)
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
        registry?.Dispose();
        registry = null;
    }
}

[CollectionDefinition(Name)]
public sealed class RegistryTokenAuthCollectionDefinition : ICollectionFixture<RegistryTokenAuthFixture>
{
    public const string Name = "RegistryTokenAuth";
}
