using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class ProbeUrlsTests
{
    [Theory]
    [InlineData("https://github.com/org/app.git", "https://github.com/org/app.git/info/refs?service=git-upload-pack")]
    [InlineData("https://github.com/org/app/", "https://github.com/org/app/info/refs?service=git-upload-pack")]
    [InlineData("http://127.0.0.1:8080/git/repo.git", "http://127.0.0.1:8080/git/repo.git/info/refs?service=git-upload-pack")]
    public void Git_discovery_url_is_below_the_repository(string repository, string expected)
    {
        ProbeUrls.GitInfoRefs(new Uri(repository)).AbsoluteUri.Should().Be(expected);
    }

    [Theory]
    [InlineData("registry.example.com", "https://registry.example.com/v2/")]
    [InlineData("registry.example.com:5000", "https://registry.example.com:5000/v2/")]
    [InlineData("https://registry.example.com/some/path", "https://registry.example.com/v2/")]
    [InlineData("http://127.0.0.1:5000", "http://127.0.0.1:5000/v2/")]
    [InlineData("docker.io", "https://registry-1.docker.io/v2/")]
    [InlineData("https://index.docker.io/v1/", "https://registry-1.docker.io/v2/")]
    [InlineData("[::1]:5000", "https://[::1]:5000/v2/")]
    public void Registry_api_root_is_built_from_how_people_write_registries(string server, string expected)
    {
        ProbeUrls.TryParseRegistry(server, out var registry, out var error).Should().BeTrue(error);

        ProbeUrls.RegistryApiRoot(registry).AbsoluteUri.Should().Be(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://registry.example.com")]
    [InlineData("https://user:pass@registry.example.com")]
    public void Unusable_registry_servers_are_refused(string server)
    {
        ProbeUrls.TryParseRegistry(server, out _, out var error).Should().BeFalse();
        error.Should().NotBeEmpty().And.NotContain("pass@");
    }

    [Fact]
    public void Urls_with_user_info_are_refused_with_a_hint()
    {
        ProbeUrls.TryParseHttpUrl("https://bot:tok@github.com/org/app.git", "git repository URL", out _, out var error).Should().BeFalse();

        error.Should().Contain("user info").And.NotContain("tok");
    }

    [Fact]
    public void Display_drops_user_info_query_and_fragment()
    {
        ProbeUrls.Display(new Uri("https://bot:tok@github.com:8443/org/app.git?x=1#f")).Should().Be("https://github.com:8443/org/app.git");
    }

    [Fact]
    public void Display_leaves_out_a_lone_root_path()
    {
        ProbeUrls.Display(new Uri("https://127.0.0.1:6443/")).Should().Be("https://127.0.0.1:6443");
    }

    [Theory]
    [InlineData("https://10.0.0.1:6443", "/api", "https://10.0.0.1:6443/api")]
    [InlineData("https://rancher.example.com/k8s/clusters/c-1", "/version", "https://rancher.example.com/k8s/clusters/c-1/version")]
    [InlineData("https://rancher.example.com/k8s/clusters/c-1/", "api", "https://rancher.example.com/k8s/clusters/c-1/api")]
    public void Api_paths_keep_the_server_path_prefix(string server, string path, string expected)
    {
        ProbeUrls.Below(new Uri(server), path).AbsoluteUri.Should().Be(expected);
    }

    [Theory]
    [InlineData("https://example.com/x", "example.com:443")]
    [InlineData("http://127.0.0.1:5000/", "127.0.0.1:5000")]
    [InlineData("https://[::1]:6443/", "[::1]:6443")]
    public void Endpoint_is_host_and_port(string url, string expected)
    {
        ProbeUrls.Endpoint(new Uri(url)).Should().Be(expected);
    }
}
