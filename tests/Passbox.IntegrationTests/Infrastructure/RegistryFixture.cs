using System.Security.Cryptography;
using Passbox.IntegrationTests.Pipeline;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A private container registry (Debian's docker-registry with htpasswd, plain HTTP on loopback)
/// from <c>hack/services/registry.sh</c>, shared by the tests of <see cref="RegistryCollectionDefinition"/>.
/// Set <c>PASSBOX_TEST_REGISTRY_ENV</c> to the <c>env</c> file of a running one to use it instead.
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private ServiceScript? service;

    /// <summary><c>http://127.0.0.1:&lt;port&gt;</c>.</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary><c>127.0.0.1:&lt;port&gt;</c>.</summary>
    public string HostAndPort { get; private set; } = string.Empty;

    public string User { get; private set; } = "ci-bot";

    public string Password { get; private set; } = NewPassword();

    /// <summary>Starts another registry of its own, for tests that stop it.</summary>
    public static Task<ServiceScript> StartInstanceAsync(string user, string password) =>
        ServiceScript.StartAsync("registry.sh", "--user", user, "--password", password);

    /// <summary>Random, with characters that trip naive Basic-auth encoders.</summary>
    public static string NewPassword() => "pw:" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "/é";

    public async Task InitializeAsync()
    {
        (service, var env) = await ServiceScript.StartOrAttachAsync("PASSBOX_TEST_REGISTRY_ENV", "registry.sh", "--user", User, "--password", Password);
        User = env["REGISTRY_USER"];
        Password = env["REGISTRY_PASSWORD"];
        Url = env["REGISTRY_URL"];
        HostAndPort = env["REGISTRY_HOST"];
    }

    public async Task DisposeAsync()
    {
        if (service is not null)
        {
            await service.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RegistryCollectionDefinition : ICollectionFixture<RegistryFixture>
{
    public const string Name = "Registry";
}
