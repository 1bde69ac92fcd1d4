using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// Checks a kubeconfig (or a bearer token for <see cref="PipelineProbeRequest.Server"/>) against the
/// API server it names: <c>GET /api</c> with the credentials decides the outcome, <c>GET /version</c>
/// gives the server version. The HTTP client is built here from embedded data only; see
/// <see cref="KubeconfigReader"/> for what is refused.
/// </summary>
public sealed class KubernetesApiProbe(TimeProvider? time = null) : IPipelineProbe
{
    private const int BodyLimit = 64 * 1024;
    private readonly TimeProvider time = time ?? TimeProvider.System;

    public PipelineProbeKind Kind => PipelineProbeKind.KubernetesAPI;

    public async Task<ValidationOutcome> ProbeAsync(PipelineProbeRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        KubeconfigTarget target;
        if (!string.IsNullOrWhiteSpace(request.Kubeconfig))
        {
            var read = KubeconfigReader.Read(request.Kubeconfig, request.Context);
            if (read.Failure is not null)
            {
                return read.Failure;
            }

            target = read.Target!;
        }
        else if (FromServerAndSecret(request, out var fromServer, out var refusal))
        {
            target = fromServer;
        }
        else
        {
            return refusal;
        }

        using (target)
        {
            return await ProbeTargetAsync(target, request.Timeout, ct);
        }
    }

    /// <summary>Without a kubeconfig: the server URL with a bearer token, or a username and password.</summary>
    private static bool FromServerAndSecret(PipelineProbeRequest request, out KubeconfigTarget target, out ValidationOutcome refusal)
    {
        target = null!;
        refusal = null!;
        if (string.IsNullOrWhiteSpace(request.Server) || string.IsNullOrEmpty(request.Secret))
        {
            refusal = ValidationOutcome.Failure(ValidationReasons.InvalidKubeconfig,
                "the KubernetesAPI probe needs a kubeconfig, or a server URL with a token");
            return false;
        }

        if (!ProbeUrls.TryParseHttpUrl(request.Server, "API server URL", out var server, out var error))
        {
            refusal = ValidationOutcome.Failure(ValidationReasons.Unsupported, error);
            return false;
        }

        var basic = !string.IsNullOrEmpty(request.Username);
        var token = basic ? null : request.Secret.Trim();
        if (token is not null && !KubeconfigReader.IsHeaderText(token))
        {
            // As for a kubeconfig's token: the Authorization header refuses line breaks (the request is never sent) and
            // non-ASCII text, which would otherwise be reported as an unreachable server. Name the source, not the value.
            var source = request.SecretSource ?? "the Secret";
            refusal = ValidationOutcome.Failure(ValidationReasons.InvalidKubeconfig,
                $"the bearer token in {source} holds a line break, a control character or a non-ASCII character; " +
                "a bearer token is one line of ASCII: store it again without them");
            return false;
        }

        target = new KubeconfigTarget
        {
            Server = server,
            ContextName = "(none)",
            ClusterName = "(none)",
            UserName = basic ? request.Username! : "(token)",
            BearerToken = token,
            BasicUsername = basic ? request.Username : null,
            BasicPassword = basic ? request.Secret : null,
        };
        return true;
    }

    private async Task<ValidationOutcome> ProbeTargetAsync(KubeconfigTarget target, TimeSpan timeout, CancellationToken ct)
    {
        // A cluster's CA is almost always its own (kubeadm, k3s, a cloud's): a kubeconfig without it is the usual cause.
        var noCaAdvice = $"give the cluster's CA as certificate-authority-data of cluster \"{target.ClusterName}\" in the kubeconfig";
        var tls = target.InsecureSkipTlsVerify
            ? TlsVerifier.Insecure()
            : target.CertificateAuthorities is not null || target.TlsServerName is not null
                ? TlsVerifier.Custom(target.CertificateAuthorities, target.TlsServerName,
                    target.CertificateAuthorities is null ? "the system's certificate authorities" : $"the certificate-authority-data of cluster \"{target.ClusterName}\"",
                    target.CertificateAuthorities is null ? noCaAdvice : null)
                : TlsVerifier.System(noCaAdvice);
        var where = ProbeUrls.Display(target.Server);
        var who = target.ContextName == "(none)"
            ? $"the {target.AuthenticationKind}"
            : $"user \"{target.UserName}\" of context \"{target.ContextName}\" ({target.AuthenticationKind})";
        var api = ProbeUrls.Below(target.Server, "/api");
        // A kubeconfig's proxy-url wins over the environment's proxy for this server, as with kubectl.
        var proxy = target.Proxy is null ? null : new WebProxy(target.Proxy) { Credentials = target.ProxyCredentials };
        using var session = new ProbeSession(tls, timeout, time, ct, target.ClientCertificate, proxy);
        var current = api;
        try
        {
            var (response, _) = await session.SendAsync(api, uri => Authorized(uri, target));
            using (response)
            {
                switch (response.StatusCode)
                {
                    case HttpStatusCode.OK:
                        break;
                    case HttpStatusCode.Unauthorized:
                        return ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed,
                            $"API server {where} rejected {who} (HTTP 401){ExpiredNote(target)}");
                    case HttpStatusCode.Forbidden:
                        return ValidationOutcome.Failure(ValidationReasons.PermissionDenied,
                            $"API server {where} accepted {who} but denied it discovery (GET /api: HTTP 403)");
                    default:
                        return ValidationOutcome.Failure(ValidationReasons.Unreachable,
                            $"{where} answered HTTP {(int)response.StatusCode} for GET /api; is it a Kubernetes API server?");
                }

                if (!IsApiVersions(await session.ReadBodyAsync(response, BodyLimit)))
                {
                    return NotAnApiServer(target, where, response.Content.Headers.ContentType?.MediaType);
                }
            }

            current = ProbeUrls.Below(target.Server, "/version");
            var version = await ReadVersionAsync(session, current, target);
            var message = new StringBuilder($"{who} logged in to API server {where}");
            if (target.Proxy is not null)
            {
                message.Append($" through proxy {ProbeUrls.Endpoint(target.Proxy)}");
            }

            if (target.InsecureSkipTlsVerify)
            {
                message.Append("; the server certificate was NOT verified because the kubeconfig sets insecure-skip-tls-verify");
            }

            var expiry = CredentialExpiry.Of(target);
            if (expiry is { } end)
            {
                // An absolute time: the message stays the same from check to check, so a confirming check writes nothing.
                message.Append($"; its {end.What} expires at {CredentialExpiry.Format(end.At)}");
            }

            return ValidationOutcome.Success(message.ToString(), version) with { ExpiresAt = expiry?.At };
        }
        catch (Exception ex) when (session.TryDescribe(ex, current, out var outcome))
        {
            return outcome;
        }
    }

    /// <summary>
    /// Why a rejected login was most likely rejected, when the kubeconfig itself says: its token's exp or its client
    /// certificate's end has passed (a token from <c>kubectl create token</c> lasts an hour, kubeadm's admin.conf a year).
    /// An absolute time, so the message of a repeated check stays the same.
    /// </summary>
    private string ExpiredNote(KubeconfigTarget target) =>
        CredentialExpiry.Of(target) is { } end && end.At <= time.GetUtcNow()
            ? $"; its {end.What} expired at {CredentialExpiry.Format(end.At)}: give the kubeconfig a new one"
            : string.Empty;

    private static async Task<string?> ReadVersionAsync(ProbeSession session, Uri uri, KubeconfigTarget target)
    {
        var (response, _) = await session.SendAsync(uri, u => Authorized(u, target));
        using (response)
        {
            return response.StatusCode == HttpStatusCode.OK ? ReadGitVersion(await session.ReadBodyAsync(response, BodyLimit)) : null;
        }
    }

    /// <summary>
    /// A 200 alone is no API server: an SSO login page, a proxy or a load balancer that answers every path never looked at
    /// the credentials, and publishing them as checked would be wrong. The body is never quoted (it may echo them); its
    /// content type says enough. Unsupported, as for a git server that does not answer as one: asking again at once gets
    /// the same page, it takes a fix of the server URL.
    /// </summary>
    private static ValidationOutcome NotAnApiServer(KubeconfigTarget target, string where, string? contentType)
    {
        var fix = target.ContextName == "(none)" ? "the server URL" : $"the server of cluster \"{target.ClusterName}\" in the kubeconfig";
        return ValidationOutcome.Failure(ValidationReasons.Unsupported,
            $"{where} answered GET /api with HTTP 200 but is not a Kubernetes API server ({contentType ?? "no content type"}, not the " +
            $"API server's APIVersions document): a proxy, a load balancer or a login page in front of it? check {fix}");
    }

    /// <summary>
    /// Whether a <c>/api</c> answer is the API server's discovery document: a JSON object of kind <c>APIVersions</c>, or at
    /// least with a <c>versions</c> array (its one field clients read). A body cut at the size limit does not parse, and is no
    /// such document: the real one is a few hundred bytes.
    /// </summary>
    internal static bool IsApiVersions(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && ((root.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "APIVersions")
                    || (root.TryGetProperty("versions", out var versions) && versions.ValueKind == JsonValueKind.Array));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary><c>gitVersion</c> of a <c>/version</c> answer, e.g. <c>v1.34.1</c>.</summary>
    internal static string? ReadGitVersion(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("gitVersion", out var value)
                && value.ValueKind == JsonValueKind.String
                && value.GetString() is { Length: > 0 and <= 100 } version
                    ? version
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary><paramref name="serverName"/> as a Host header for <paramref name="uri"/>: with its port unless it is the default.</summary>
    private static string HostHeader(string serverName, Uri uri)
    {
        var host = Uri.CheckHostName(serverName) == UriHostNameType.IPv6 && !serverName.StartsWith('[') ? $"[{serverName}]" : serverName;
        return uri.IsDefaultPort ? host : $"{host}:{uri.Port}";
    }

    private static HttpRequestMessage Authorized(Uri uri, KubeconfigTarget target)
    {
        var message = new HttpRequestMessage(HttpMethod.Get, uri);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (target.TlsServerName is { } serverName && uri.Scheme == Uri.UriSchemeHttps)
        {
            // kubectl sends tls-server-name as the TLS server name (SNI), and a server or an SNI router in front of it picks
            // its certificate or backend by it: without it the check met another certificate (or none) than kubectl does.
            // SocketsHttpHandler takes the SNI from the Host header alone (its SslOptions.TargetHost is overwritten per
            // connection), so the Host header names it too; the connection still goes to the server's address and port.
            // Plain http has no server name to send, and keeps the Host header kubectl sends.
            message.Headers.Host = HostHeader(serverName, uri);
        }

        if (target.BearerToken is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", target.BearerToken);
        }
        else if (target.BasicUsername is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{target.BasicUsername}:{target.BasicPassword}")));
        }

        if (target.Impersonate is not null)
        {
            message.Headers.TryAddWithoutValidation("Impersonate-User", target.Impersonate);
            foreach (var group in target.ImpersonateGroups)
            {
                message.Headers.TryAddWithoutValidation("Impersonate-Group", group);
            }
        }

        return message;
    }
}
