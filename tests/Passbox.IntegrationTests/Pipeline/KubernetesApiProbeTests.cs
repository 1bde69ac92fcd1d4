using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Shipping;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Pipeline;

[Collection(KubernetesApiCollectionDefinition.Name)]
public sealed class KubernetesApiProbeTests(KubernetesApiFixture cluster, ITestOutputHelper output)
{
    private readonly KubernetesApiProbe probe = new();

    [Fact]
    public async Task Good_token_is_validated_with_the_server_version()
    {
        var outcome = await Probe(cluster.Kubeconfig());
        output.WriteLine($"{(cluster.IsRealControlPlane ? "control plane" : "stand-in API server")} {cluster.Server}: {outcome.ServerVersion}");

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Reason.Should().Be(ValidationReasons.Validated);
        outcome.ServerVersion.Should().StartWith("v1.");
        outcome.Message.Should().Be($"user \"deployer\" of context \"ci\" (bearer token) logged in to API server {cluster.Server}")
            .And.NotContain(cluster.Token);
    }

    [Fact]
    public async Task Bad_token_fails_authentication()
    {
        var outcome = await Probe(cluster.Kubeconfig("token: not-a-valid-token-0123456789"));

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("rejected user \"deployer\"").And.NotContain("not-a-valid-token");
    }

    [Fact]
    public async Task Unknown_context_is_an_invalid_kubeconfig_listing_the_contexts()
    {
        var outcome = await Probe(cluster.Kubeconfig(), context: "production");

        outcome.Reason.Should().Be(ValidationReasons.InvalidKubeconfig);
        outcome.Message.Should().Be("context \"production\" is not in the kubeconfig; available contexts: \"ci\"");
    }

    [Fact]
    public async Task Exec_plugin_is_unsupported_and_never_runs()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"passbox-exec-{Guid.NewGuid():N}");
        var outcome = await Probe(cluster.Kubeconfig($"""
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: /bin/sh
              args: ["-c", "touch {marker}"]
              interactiveMode: Never
            """));

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Contain("exec plugin");
        File.Exists(marker).Should().BeFalse();
    }

    [Fact]
    public async Task Wrong_ca_is_a_tls_failure_saying_the_certificate_is_not_trusted()
    {
        using var other = new ApiServerCertificates("some other cluster CA");

        var outcome = await Probe(cluster.Kubeconfig(certificateAuthorityPem: other.AuthorityPem));

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("not signed by the certificate-authority-data of cluster \"test\"");
    }

    [Fact]
    public async Task Name_the_certificate_does_not_carry_is_a_tls_failure()
    {
        var outcome = await Probe(cluster.Kubeconfig(tlsServerName: "api.wrong.example"));

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("not valid for host api.wrong.example");
    }

    /// <summary>
    /// An API server behind a TLS passthrough router that routes by server name (SNI), reached by address with
    /// tls-server-name naming it, as kubectl is given it. kubectl sends tls-server-name as the SNI; the probe sent none
    /// (the server is an address), the router hung up, and a kubeconfig that works with kubectl was refused.
    /// </summary>
    [Fact]
    public async Task Tls_server_name_is_sent_as_sni_and_reaches_the_api_server_behind_an_sni_router_as_with_kubectl()
    {
        var real = new Uri(cluster.Server);
        await using var router = new SniRouter(new Dictionary<string, (string Host, int Port)> { ["localhost"] = (real.Host, real.Port) });
        var kubeconfig = cluster.Kubeconfig(server: ProbeUrls.Display(router.Address), tlsServerName: "localhost");

        var outcome = await Probe(kubeconfig);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().StartWith("v1.");
        router.ServerNames.Should().NotBeEmpty().And.OnlyContain(name => name == "localhost");
        if (cluster.IsRealControlPlane)
        {
            // The same kubeconfig with kubectl (client-go), which the check stands for.
            var file = Path.Combine(Path.GetTempPath(), $"passbox-it-sni-{Guid.NewGuid():N}");
            try
            {
                await File.WriteAllTextAsync(file, kubeconfig);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                var kubectl = ShippingTools.TryRun(ShippingTools.Kubectl, ["--kubeconfig", file, "get", "--raw", "/version"]);
                kubectl.ExitCode.Should().Be(0, "kubectl reaches the API server through the router: {0}", kubectl.StandardError);
            }
            finally
            {
                File.Delete(file);
            }
        }
    }

    [Fact]
    public async Task Server_down_is_unreachable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var outcome = await Probe(cluster.Kubeconfig(server: $"https://127.0.0.1:{port}"));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Be($"cannot reach 127.0.0.1:{port}: connection refused");
    }

    /// <summary>
    /// A kubeconfig whose server is a web server, not the API server: an SSO login page or a proxy that answers every path
    /// with 200 and HTML. The token was never looked at, yet the check passed and the kubeconfig was published as
    /// verified. Only the API server's discovery document (APIVersions) on /api stands for an API server.
    /// </summary>
    [Fact]
    public async Task A_web_server_answering_200_with_a_login_page_everywhere_is_not_taken_for_an_api_server()
    {
        const string page = "<html><body><form action=\"/login\">Sign in to Example SSO</form></body></html>";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));
        await using var web = builder.Build();
        var asked = new System.Collections.Concurrent.ConcurrentQueue<string>();
        web.Run(async context =>
        {
            asked.Enqueue(context.Request.Path);
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync(page);
        });
        await web.StartAsync();
        var address = web.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

        var outcome = await Probe(cluster.Kubeconfig(server: address));

        asked.Should().Contain("/api");
        outcome.Succeeded.Should().BeFalse("a login page is not an API server: the token was never checked");
        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Be($"{address} answered GET /api with HTTP 200 but is not a Kubernetes API server (text/html, not " +
            "the API server's APIVersions document): a proxy, a load balancer or a login page in front of it? " +
            "check the server of cluster \"test\" in the kubeconfig");
        outcome.Message.Should().NotContain("Sign in").And.NotContain(cluster.Token);
        await web.StopAsync();
    }

    /// <summary>
    /// A cluster reached only through the proxy its kubeconfig names (a bastion, a corporate egress proxy): the API
    /// server sits under a name nothing but the proxy resolves, and its certificate is checked inside the tunnel.
    /// </summary>
    [Theory]
    [InlineData("http")]
    [InlineData("socks5")]
    public async Task The_kubeconfig_proxy_url_carries_the_check_to_a_server_only_the_proxy_reaches(string scheme)
    {
        var real = new Uri(cluster.Server);
        await using var proxy = Proxy(scheme, (_, port) => (real.Host, port));

        var outcome = await Probe(BehindProxy(proxy.Address.ToString()));

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().StartWith("v1.");
        outcome.Message.Should().EndWith($"logged in to API server https://api.cluster.invalid:{real.Port} through proxy {ProbeUrls.Endpoint(proxy.Address)}");
        proxy.Requested.Should().Contain($"api.cluster.invalid:{real.Port}");
    }

    [Theory]
    [InlineData("http")]
    [InlineData("socks5")]
    public async Task A_proxy_that_wants_credentials_gets_those_of_the_proxy_url_and_no_message_shows_them(string scheme)
    {
        const string password = "proxy-pw-do-not-print";
        var real = new Uri(cluster.Server);
        var login = new System.Net.NetworkCredential("egress-bot", password);
        await using var proxy = Proxy(scheme, (_, port) => (real.Host, port), login);
        var withLogin = new UriBuilder(proxy.Address) { UserName = login.UserName, Password = password }.Uri.ToString();

        var outcome = await Probe(BehindProxy(withLogin));

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().NotContain(password).And.NotContain("egress-bot");
        proxy.Requested.Should().Contain($"api.cluster.invalid:{real.Port}");
    }

    [Fact]
    public async Task A_proxy_refusing_the_tunnel_for_lack_of_credentials_is_named_with_what_to_do()
    {
        var real = new Uri(cluster.Server);
        await using var proxy = new ConnectProxy((_, port) => (real.Host, port), new System.Net.NetworkCredential("egress-bot", "proxy-pw"));

        var outcome = await Probe(BehindProxy(proxy.Address.ToString()));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Be($"proxy {ProbeUrls.Endpoint(proxy.Address)} asks for credentials (HTTP 407) before it connects to " +
            $"api.cluster.invalid:{real.Port}: give them in the proxy URL as http://user:password@host:port");
    }

    /// <summary>The proxy is down, not the server: the message must not send anyone to look at the API server.</summary>
    [Theory]
    [InlineData("http")]
    [InlineData("socks5")]
    public async Task A_proxy_that_is_down_is_named_as_the_one_unreachable(string scheme)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var outcome = await Probe(BehindProxy($"{scheme}://127.0.0.1:{port}"));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Be($"cannot reach proxy 127.0.0.1:{port} on the way to api.cluster.invalid:{new Uri(cluster.Server).Port}: connection refused");
    }

    [Fact]
    public async Task An_https_proxy_that_does_not_speak_TLS_is_a_tls_failure_naming_the_proxy()
    {
        // A plain HTTP proxy given as https://: it answers the TLS hello with an HTTP error.
        using var plain = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        plain.Start();
        var port = ((System.Net.IPEndPoint)plain.LocalEndpoint).Port;
        var answering = Task.Run(async () =>
        {
            using var client = await plain.AcceptTcpClientAsync();
            await client.GetStream().WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        });

        var outcome = await Probe(BehindProxy($"https://127.0.0.1:{port}"));
        await answering;

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().StartWith($"TLS with proxy 127.0.0.1:{port} failed").And.EndWith("use http:// if the proxy does not speak TLS");
    }

    private static ProxyDouble Proxy(string scheme, Func<string, int, (string Host, int Port)> resolve, System.Net.NetworkCredential? login = null) =>
        scheme == "socks5" ? new Socks5Proxy(resolve, login) : new ConnectProxy(resolve, login);

    /// <summary>The fixture's kubeconfig with the server under a name only the proxy resolves, and the certificate checked for localhost.</summary>
    private string BehindProxy(string proxyUrl) =>
        cluster.Kubeconfig(server: $"https://api.cluster.invalid:{new Uri(cluster.Server).Port}", tlsServerName: "localhost")
            .Replace("    tls-server-name: localhost", $"    tls-server-name: localhost\n    proxy-url: {proxyUrl}", StringComparison.Ordinal);

    private Task<ValidationOutcome> Probe(string kubeconfig, string? context = null) =>
        probe.ProbeAsync(new PipelineProbeRequest(null, null, null, kubeconfig, context, TimeSpan.FromSeconds(10)), CancellationToken.None);
}
