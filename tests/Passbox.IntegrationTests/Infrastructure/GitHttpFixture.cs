using Passbox.IntegrationTests.Pipeline;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A private git smart HTTP server (nginx + fcgiwrap + git http-backend, Basic auth) from
/// <c>hack/services/githttp.sh</c>, with the bare repository <c>demo.git</c>, shared by the tests
/// of <see cref="GitHttpCollectionDefinition"/>. Set <c>PASSBOX_TEST_GITHTTP_ENV</c> to the <c>env</c> file
/// of a running one to use it instead.
/// </summary>
public sealed class GitHttpFixture : IAsyncLifetime
{
    private ServiceScript? service;

    /// <summary><c>http://127.0.0.1:&lt;port&gt;/git</c>: repositories are below it.</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>The demo repository, <c>BaseUrl/demo.git</c>.</summary>
    public string RepositoryUrl { get; private set; } = string.Empty;

    public string User { get; private set; } = "ci-bot";

    public string Password { get; private set; } = RegistryFixture.NewPassword();

    /// <summary>Starts another git server of its own, for tests that stop it or need other users.</summary>
    public static Task<ServiceScript> StartInstanceAsync(string user, string password) =>
        ServiceScript.StartAsync("githttp.sh", "--user", user, "--password", password);

    public async Task InitializeAsync()
    {
        (service, var env) = await ServiceScript.StartOrAttachAsync("PASSBOX_TEST_GITHTTP_ENV", "githttp.sh", "--user", User, "--password", Password);
        User = env["GIT_HTTP_USER"];
        Password = env["GIT_HTTP_PASSWORD"];
        BaseUrl = env["GIT_HTTP_URL"];
        RepositoryUrl = env["GIT_REPO_URL"];
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
public sealed class GitHttpCollectionDefinition : ICollectionFixture<GitHttpFixture>
{
    public const string Name = "GitHttp";
}
