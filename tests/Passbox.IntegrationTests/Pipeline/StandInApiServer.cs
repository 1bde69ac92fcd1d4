using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Passbox.IntegrationTests.Pipeline;

/// <summary>
/// An HTTPS stand-in for a Kubernetes API server, used only when the local control plane
/// (<c>hack/controlplane.sh</c>) is not in the repository: bearer tokens checked on <c>/api</c>
/// (401 for unknown ones, 403 for <see cref="ForbiddenToken"/>), <c>/version</c> public as in a cluster.
/// </summary>
public sealed class StandInApiServer : IAsyncDisposable
{
    public const string GitVersion = "v1.34.0-passbox-stand-in";
    private readonly WebApplication app;
    private readonly ApiServerCertificates certificates;

    private StandInApiServer(WebApplication app, ApiServerCertificates certificates, string token)
    {
        this.app = app;
        this.certificates = certificates;
        Token = token;
    }

    public string Token { get; }

    /// <summary>A token that authenticates but may not use discovery.</summary>
    public string ForbiddenToken { get; } = "forbidden-" + Guid.NewGuid().ToString("N");

    public string Server { get; private set; } = string.Empty;

    public string CertificateAuthorityPem => certificates.AuthorityPem;

    public static async Task<StandInApiServer> StartAsync()
    {
        var certificates = new ApiServerCertificates("passbox stand-in API server CA");
        var serverCertificate = certificates.IssueLoopbackServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate })));
        var app = builder.Build();
        var server = new StandInApiServer(app, certificates, "stand-in-" + Guid.NewGuid().ToString("N"));
        app.MapGet("/version", () => Results.Json(new { major = "1", minor = "34", gitVersion = GitVersion }));
        app.MapGet("/api", (HttpContext context) =>
        {
            var authorization = context.Request.Headers.Authorization.ToString();
            return authorization == "Bearer " + server.Token
                ? Results.Json(new { kind = "APIVersions", versions = new[] { "v1" } })
                : authorization == "Bearer " + server.ForbiddenToken
                    ? Results.StatusCode(StatusCodes.Status403Forbidden)
                    : Results.StatusCode(StatusCodes.Status401Unauthorized);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Server = address.TrimEnd('/');
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        certificates.Dispose();
    }
}
