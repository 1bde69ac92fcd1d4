using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// Checks a container registry login the way <c>docker login</c> does: <c>GET /v2/</c>, answer
/// the 401 challenge (Basic, or Bearer through the token service it names), and <c>GET /v2/</c> again.
/// </summary>
/// <param name="time">The clock of the probe's deadline.</param>
/// <param name="proxy">The proxy to go through; by default the environment's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).</param>
public sealed class ContainerRegistryProbe(TimeProvider? time = null, IWebProxy? proxy = null) : IPipelineProbe
{
    /// <summary>The registry's API version header, e.g. <c>registry/2.0</c>.</summary>
    internal const string ApiVersionHeader = "Docker-Distribution-API-Version";
    private const int TokenBodyLimit = 256 * 1024;
    private readonly TimeProvider time = time ?? TimeProvider.System;

    public PipelineProbeKind Kind => PipelineProbeKind.ContainerRegistry;

    public async Task<ValidationOutcome> ProbeAsync(PipelineProbeRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ProbeUrls.TryParseRegistry(request.Server, out var registry, out var error))
        {
            return ValidationOutcome.Failure(ValidationReasons.Unsupported, error);
        }

        if (!BasicCredentials.TryFrom(request, "ContainerRegistry", out var credentials, out var noCredentials))
        {
            return noCredentials;
        }

        var apiRoot = ProbeUrls.RegistryApiRoot(registry);
        var where = ProbeUrls.Endpoint(registry);
        if (!TlsVerifier.TryForServer(request, out var tls, out var badCa))
        {
            return badCa;
        }

        using var session = new ProbeSession(tls, request.Timeout, time, ct, proxy: proxy);
        var target = apiRoot;
        try
        {
            IReadOnlyList<WwwAuthenticateChallenge> challenges;
            string? anonymousVersion;
            var open = false;
            var (anonymous, _) = await session.SendAsync(apiRoot, uri => new HttpRequestMessage(HttpMethod.Get, uri));
            using (anonymous)
            {
                anonymousVersion = ApiVersion(anonymous);
                if (anonymous.StatusCode == HttpStatusCode.OK)
                {
                    open = true;
                }
                else if (anonymous.StatusCode != HttpStatusCode.Unauthorized)
                {
                    return UnexpectedStatus(anonymous, where, "/v2/");
                }

                challenges = WwwAuthenticateChallenge.ParseAll(HeaderValues(anonymous, "WWW-Authenticate"));
            }

            if (open)
            {
                var presented = await PresentUnaskedAsync(session, apiRoot, credentials, where, anonymousVersion);
                if (presented.Outcome is not null)
                {
                    return presented.Outcome;
                }

                challenges = presented.Challenges;
            }

            var bearer = challenges.FirstOrDefault(c => c.IsScheme("Bearer"));
            var basic = challenges.FirstOrDefault(c => c.IsScheme("Basic"));
            AuthenticationHeaderValue authorization;
            if (bearer is not null)
            {
                if (!TryTokenEndpoint(bearer, registry, out var tokenUri, out var refusal))
                {
                    return refusal;
                }

                target = tokenUri;
                var token = await FetchTokenAsync(session, tokenUri, credentials, where);
                if (token.Outcome is not null)
                {
                    return token.Outcome;
                }

                authorization = new AuthenticationHeaderValue("Bearer", token.Token);
            }
            else if (basic is not null)
            {
                authorization = credentials.Header();
            }
            else
            {
                var schemes = challenges.Count == 0 ? "none" : string.Join(", ", challenges.Select(c => c.Scheme));
                return ValidationOutcome.Failure(ValidationReasons.Unsupported,
                    $"registry {where} asks for an authentication scheme the probe does not speak (offered: {schemes})");
            }

            target = apiRoot;
            var (authenticated, _) = await session.SendAsync(apiRoot, uri => Authorized(uri, authorization));
            using (authenticated)
            {
                return authenticated.StatusCode switch
                {
                    HttpStatusCode.OK => ValidationOutcome.Success(
                        $"{credentials.Describe()} logged in to registry {where}", ApiVersion(authenticated) ?? anonymousVersion),
                    HttpStatusCode.Unauthorized => ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed,
                        $"registry {where} refused the login of {credentials.Describe()} (HTTP 401){credentials.RefusalHint()}"),
                    HttpStatusCode.Forbidden => ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                        $"registry {where} accepted {credentials.Describe()} but denied access (HTTP 403)"),
                    _ => UnexpectedStatus(authenticated, where, "/v2/"),
                };
            }
        }
        catch (Exception ex) when (session.TryDescribe(ex, target, out var outcome))
        {
            // Only /v2/ is the registry as written; a token service that fails TLS is the registry's business.
            return target == apiRoot
                ? await session.ExplainPlainHttpAsync(outcome, target,
                    $"for a registry served without TLS (an insecure registry), write spec.server as {ProbeUrls.Display(ProbeUrls.AsPlainHttp(registry))} " +
                    "(credentials go over plain HTTP only to a server written http://)")
                : outcome;
        }
    }

    /// <summary>
    /// The token service URL from a Bearer challenge: <c>realm?service=..&amp;scope=..</c>. The
    /// credentials go to the realm, so an https registry must not point them at a plain http realm.
    /// </summary>
    internal static bool TryTokenEndpoint(WwwAuthenticateChallenge bearer, Uri registry, out Uri tokenUri, out ValidationOutcome refusal)
    {
        tokenUri = null!;
        refusal = null!;
        var where = ProbeUrls.Endpoint(registry);
        if (!ProbeUrls.TryParseHttpUrl(bearer["realm"], "token service (Bearer realm)", out var realm, out var error))
        {
            refusal = ValidationOutcome.Failure(ValidationReasons.Unsupported, $"registry {where} sent a Bearer challenge without a usable realm: {error}");
            return false;
        }

        if (registry.Scheme == Uri.UriSchemeHttps && realm.Scheme != Uri.UriSchemeHttps)
        {
            refusal = ValidationOutcome.Failure(ValidationReasons.Unsupported,
                $"registry {where} sends logins to a plain http token service ({ProbeUrls.Display(realm)}); credentials are not sent unencrypted");
            return false;
        }

        var query = new List<string>();
        if (!string.IsNullOrEmpty(realm.Query))
        {
            query.Add(realm.Query.TrimStart('?'));
        }

        foreach (var name in new[] { "service", "scope" })
        {
            if (bearer[name] is { Length: > 0 } value)
            {
                query.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }

        tokenUri = new UriBuilder(realm) { Query = string.Join('&', query) }.Uri;
        return true;
    }

    /// <summary>Reads <c>token</c>, or else <c>access_token</c>, from a token service answer.</summary>
    internal static string? ReadToken(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (var name in new[] { "token", "access_token" })
            {
                if (document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                    && value.GetString() is { Length: > 0 } token)
                {
                    return token;
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// docker, kaniko and crane answer challenges only, so an open /v2/ never sees their credentials. The one check left is
    /// to present them unasked: registries that let anyone read but want a login to push (Nexus or Artifactory with
    /// anonymous access, nginx checking a login when one comes) refuse wrong ones, or answer with the Bearer challenge a
    /// login goes through (returned for the caller to follow). A registry without authentication ignores them, which the
    /// outcome says, with what to do.
    /// </summary>
    private static async Task<(ValidationOutcome? Outcome, IReadOnlyList<WwwAuthenticateChallenge> Challenges)> PresentUnaskedAsync(
        ProbeSession session, Uri apiRoot, BasicCredentials credentials, string where, string? anonymousVersion)
    {
        var (presented, _) = await session.SendAsync(apiRoot, uri => Authorized(uri, credentials.Header()));
        using (presented)
        {
            switch (presented.StatusCode)
            {
                case HttpStatusCode.OK:
                    return (ValidationOutcome.Success(
                        $"registry {where} lets anyone in at /v2/ and ignored the login of {credentials.Describe()}, so the credentials " +
                        "could not be checked (docker, kaniko and crane send none to it either); turn on the registry's authentication " +
                        "to have them checked, or set spec.validation.probe to None to publish them without this check",
                        ApiVersion(presented) ?? anonymousVersion), []);
                case HttpStatusCode.Forbidden:
                    return (ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                        $"registry {where} lets anyone in at /v2/ but denied {credentials.Describe()} when it was presented (HTTP 403)"), []);
                case HttpStatusCode.Unauthorized:
                    break;
                default:
                    return (UnexpectedStatus(presented, where, "/v2/"), []);
            }

            var challenges = WwwAuthenticateChallenge.ParseAll(HeaderValues(presented, "WWW-Authenticate"));
            return challenges.Any(c => c.IsScheme("Bearer"))
                ? (null, challenges)
                : (ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed,
                    $"registry {where} lets anyone in at /v2/ but refused the login of {credentials.Describe()} when it was presented " +
                    $"(HTTP 401){credentials.RefusalHint()}"), []);
        }
    }

    private static async Task<(string? Token, ValidationOutcome? Outcome)> FetchTokenAsync(
        ProbeSession session, Uri tokenUri, BasicCredentials credentials, string where)
    {
        var (response, _) = await session.SendAsync(tokenUri, uri => Authorized(uri, credentials.Header()));
        using (response)
        {
            var service = ProbeUrls.Display(tokenUri);
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    var token = ReadToken(await session.ReadBodyAsync(response, TokenBodyLimit));
                    return token is null
                        ? (null, ValidationOutcome.Failure(ValidationReasons.Unsupported,
                            $"the token service {service} of registry {where} answered without a token"))
                        : (token, null);
                case HttpStatusCode.Unauthorized:
                    return (null, ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed,
                        $"the token service {service} of registry {where} refused the login of {credentials.Describe()} (HTTP 401){credentials.RefusalHint()}"));
                case HttpStatusCode.Forbidden:
                    return (null, ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                        $"the token service {service} of registry {where} denied {credentials.Describe()} a token (HTTP 403)"));
                default:
                    return (null, UnexpectedStatus(response, $"the token service of registry {where}", service));
            }
        }
    }

    private static HttpRequestMessage Authorized(Uri uri, AuthenticationHeaderValue authorization)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, uri);
        message.Headers.Authorization = authorization;
        return message;
    }

    private static ValidationOutcome UnexpectedStatus(HttpResponseMessage response, string where, string path) =>
        ValidationOutcome.Failure(ValidationReasons.Unreachable, $"{where} answered HTTP {(int)response.StatusCode} for {path}");

    private static string? ApiVersion(HttpResponseMessage response) =>
        HeaderValues(response, ApiVersionHeader).FirstOrDefault(v => v.Length is > 0 and <= 100);

    private static IEnumerable<string> HeaderValues(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values : [];
}
