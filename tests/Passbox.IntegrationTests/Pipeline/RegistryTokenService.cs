using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Passbox.IntegrationTests.Pipeline;

/// <summary>
/// A registry token service (the Docker token authentication protocol) on loopback: <c>GET
/// /token?service=..&amp;scope=..</c> with Basic auth answers <c>{"token": JWT}</c>, the JWT signed
/// with ES256 and its certificate in the <c>x5c</c> header, as docker-registry's token auth verifies.
/// Requests are counted so tests can tell the token round trip happened.
/// </summary>
public sealed class RegistryTokenService : IAsyncDisposable
{
    private readonly ECDsa signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 signingCertificate;
    private readonly WebApplication app;
    private int tokensIssued;
    private int refusals;

    private RegistryTokenService(string user, string password, string issuer, WebApplication app, X509Certificate2 certificate)
    {
        User = user;
        Password = password;
        Issuer = issuer;
        this.app = app;
        signingCertificate = certificate;
    }

    public string User { get; }

    public string Password { get; }

    public string Issuer { get; }

    /// <summary><c>http://127.0.0.1:&lt;port&gt;/token</c>.</summary>
    public string Realm { get; private set; } = string.Empty;

    /// <summary>The certificate the registry trusts for tokens (its <c>rootcertbundle</c>).</summary>
    public string SigningCertificatePem => signingCertificate.ExportCertificatePem();

    public int TokensIssued => tokensIssued;

    public int Refusals => refusals;

    /// <summary>
    /// When set, the token service answers with <c>access_token</c> only (as OAuth2-style token
    /// services do) instead of <c>token</c>.
    /// </summary>
    public bool AccessTokenOnly { get; set; }

    /// <summary>When set, tokens are issued for another audience, so the registry must refuse them.</summary>
    public bool WrongAudience { get; set; }

    public static async Task<RegistryTokenService> StartAsync(string user, string password)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=passbox test token signer", key, HashAlgorithmName.SHA256);
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var service = new RegistryTokenService(user, password, "passbox-test-token-issuer", app, certificate);
        service.signingKey.ImportParameters(key.ExportParameters(includePrivateParameters: true));
        key.Dispose();
        app.MapGet("/token", service.Issue);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        service.Realm = address.TrimEnd('/') + "/token";
        return service;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        signingCertificate.Dispose();
        signingKey.Dispose();
    }

    private IResult Issue(HttpContext context)
    {
        if (!Authenticated(context.Request.Headers.Authorization.ToString()))
        {
            Interlocked.Increment(ref refusals);
            return Results.Json(new { errors = new[] { new { code = "UNAUTHORIZED", message = "authentication required" } } },
                statusCode: (int)HttpStatusCode.Unauthorized);
        }

        var service = context.Request.Query["service"].ToString();
        var token = Sign(WrongAudience ? "another-registry" : service, context.Request.Query["scope"].ToString());
        Interlocked.Increment(ref tokensIssued);
        return AccessTokenOnly
            ? Results.Json(new Dictionary<string, object> { ["access_token"] = token, ["expires_in"] = 300 })
            : Results.Json(new Dictionary<string, object> { ["token"] = token, ["expires_in"] = 300 });
    }

    private bool Authenticated(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
            return pair == $"{User}:{Password}";
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private string Sign(string audience, string scope)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new Dictionary<string, object>
        {
            ["typ"] = "JWT",
            ["alg"] = "ES256",
            ["x5c"] = new[] { Convert.ToBase64String(signingCertificate.RawData) },
        };
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = User,
            ["aud"] = audience,
            ["exp"] = now + 300,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)),
            ["access"] = Access(scope),
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = signingKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>Grants whatever a <c>type:name:actions</c> scope asks for.</summary>
    private static object[] Access(string scope)
    {
        var parts = scope.Split(':');
        return parts.Length >= 3
            ? [new { type = parts[0], name = string.Join(':', parts[1..^1]), actions = parts[^1].Split(',') }]
            : [];
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
