using System.Net;
using System.Text;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// Checks a git repository over smart HTTP: <c>GET &lt;repo&gt;/info/refs?service=git-upload-pack</c>
/// with Basic authentication, which is what <c>git clone</c> asks first.
/// </summary>
/// <param name="time">The clock of the probe's deadline.</param>
/// <param name="proxy">The proxy to go through; by default the environment's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).</param>
public sealed class GitHttpProbe(TimeProvider? time = null, IWebProxy? proxy = null) : IPipelineProbe
{
    internal const string AdvertisementContentType = "application/x-git-upload-pack-advertisement";
    private const int AdvertisementPeek = 16 * 1024;
    private readonly TimeProvider time = time ?? TimeProvider.System;

    public PipelineProbeKind Kind => PipelineProbeKind.GitHTTP;

    public async Task<ValidationOutcome> ProbeAsync(PipelineProbeRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ProbeUrls.TryParseHttpUrl(request.Server, "git repository URL", out var repository, out var error))
        {
            return ValidationOutcome.Failure(ValidationReasons.Unsupported, error);
        }

        if (!BasicCredentials.TryFrom(request, "GitHTTP", out var credentials, out var noCredentials))
        {
            return noCredentials;
        }

        var target = ProbeUrls.GitInfoRefs(repository);
        var where = ProbeUrls.Display(repository);
        if (!TlsVerifier.TryForServer(request, out var tls, out var badCa))
        {
            return badCa;
        }

        using var session = new ProbeSession(tls, request.Timeout, time, ct, proxy: proxy);
        try
        {
            var (response, _) = await session.SendAsync(target, uri =>
            {
                var message = new HttpRequestMessage(HttpMethod.Get, uri);
                message.Headers.Authorization = credentials.Header();
                return message;
            });
            using (response)
            {
                return response.StatusCode switch
                {
                    HttpStatusCode.OK => await AdvertisementOutcomeAsync(session, response, where, credentials),
                    HttpStatusCode.Unauthorized => ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed,
                        $"{where} refused the login of {credentials.Describe()} (HTTP 401){credentials.RefusalHint()}"),
                    HttpStatusCode.Forbidden => ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                        $"{credentials.Describe()} logged in but may not read {where} (HTTP 403)"),
                    HttpStatusCode.NotFound => ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                        $"repository {where} not found, or {credentials.Describe()} may not see it (HTTP 404)"),
                    _ => ValidationOutcome.Failure(ValidationReasons.Unreachable,
                        $"{where} answered HTTP {(int)response.StatusCode} to the git discovery request"),
                };
            }
        }
        catch (Exception ex) when (session.TryDescribe(ex, target, out var outcome))
        {
            return await session.ExplainPlainHttpAsync(outcome, target,
                $"for a git server without TLS, write spec.server as {ProbeUrls.Display(ProbeUrls.AsPlainHttp(repository))} " +
                "(credentials go over plain HTTP only to a server written http://)");
        }
    }

    private static async Task<ValidationOutcome> AdvertisementOutcomeAsync(
        ProbeSession session, HttpResponseMessage response, string where, BasicCredentials credentials)
    {
        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (!string.Equals(contentType, AdvertisementContentType, StringComparison.OrdinalIgnoreCase))
        {
            return ValidationOutcome.Failure(ValidationReasons.Unsupported,
                $"{where} did not answer as a git smart HTTP repository (content type {contentType ?? "none"}); " +
                "check the repository URL");
        }

        var body = await session.ReadBodyAsync(response, AdvertisementPeek);
        var agent = FindAgent(body);
        if (await ReadableByAnyoneAsync(session, response.RequestMessage?.RequestUri))
        {
            // A public repository on a server that ignores credentials it does not need (git-http-backend with
            // authentication for pushes only, Gerrit outside /a/): a wrong token passes too, and fails later on a push.
            return ValidationOutcome.Success(
                $"{credentials.Describe()} can read {where}, but so can anyone: the credentials could not be checked there " +
                "(point spec.server at a repository that needs them)", agent);
        }

        return ValidationOutcome.Success($"{credentials.Describe()} can read {where}", agent);
    }

    /// <summary>Asks for the same advertisement without credentials (only after the login passed, so a failure costs nothing more).</summary>
    private static async Task<bool> ReadableByAnyoneAsync(ProbeSession session, Uri? target)
    {
        if (target is null)
        {
            return false;
        }

        var (anonymous, _) = await session.SendAsync(target, uri => new HttpRequestMessage(HttpMethod.Get, uri));
        using (anonymous)
        {
            return anonymous.StatusCode == HttpStatusCode.OK
                && string.Equals(anonymous.Content.Headers.ContentType?.MediaType, AdvertisementContentType, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// The <c>agent=</c> capability of the first ref line of an upload-pack advertisement
    /// (e.g. <c>git/2.39.5</c>), or null.
    /// </summary>
    internal static string? FindAgent(ReadOnlySpan<byte> advertisement)
    {
        var text = Encoding.ASCII.GetString(advertisement);
        var nul = text.IndexOf('\0', StringComparison.Ordinal);
        if (nul < 0)
        {
            return null;
        }

        var end = text.IndexOf('\n', nul);
        var capabilities = text[(nul + 1)..(end < 0 ? text.Length : end)];
        foreach (var capability in capabilities.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (capability.StartsWith("agent=", StringComparison.Ordinal))
            {
                var agent = capability["agent=".Length..];
                return agent.Length is > 0 and <= 100 && agent.All(c => c is > ' ' and < '\x7f') ? agent : null;
            }
        }

        return null;
    }
}
