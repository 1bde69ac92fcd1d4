using System.Globalization;
using System.Net;
using System.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Passbox.Operator.Connectors.Milvus.Protocol;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>
/// A small Milvus gRPC client: one HTTP/2 connection, created for one job (a validation, a user
/// change) and disposed afterwards. Calls carry the login's authorization and database metadata.
/// A failed <c>common.Status</c> throws <see cref="MilvusStatusException"/>; transport and
/// authentication errors come as <see cref="RpcException"/>.
/// </summary>
public sealed class MilvusClient : IDisposable
{
    private static readonly string SdkVersion =
        typeof(MilvusClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    private readonly GrpcChannel _channel;
    private readonly MilvusService.MilvusServiceClient _service;
    private readonly Metadata _headers;
    private readonly CertificateValidation _certificates;
    private readonly string _user;

    private MilvusClient(GrpcChannel channel, Metadata headers, CertificateValidation certificates, string user)
    {
        _channel = channel;
        _service = new MilvusService.MilvusServiceClient(channel);
        _headers = headers;
        _certificates = certificates;
        _user = user;
    }

    /// <summary>Why the last TLS handshake was refused by our certificate check, if it was.</summary>
    public string? CertificateFailure => _certificates.LastFailure;

    /// <summary>
    /// <c>https://</c> unless TLS is Disabled (then HTTP/2 without TLS). gRPC cannot fall back from
    /// TLS to plaintext on one connection, so Preferred means TLS without a certificate check. Throws
    /// <see cref="ArgumentException"/> when the CA PEM is unusable, <see cref="UriFormatException"/> when the host makes
    /// no address (see <see cref="AddressProblem"/>).
    /// </summary>
    public static MilvusClient Create(DatabaseLogin login, IWebProxy? proxy = null)
    {
        ArgumentNullException.ThrowIfNull(login);
        // First, so that nothing disposable is left behind when it throws.
        var address = new Uri($"{(login.Tls.Mode == TlsMode.Disabled ? "http" : "https")}://{login.Endpoint}");
        var certificates = CertificateValidation.Create(login.Tls, out var caError)
            ?? throw new ArgumentException($"Cannot check the server certificate: {caError}.", nameof(login));
        HttpMessageHandler handler = ProxyFor(address, proxy) is { } through
            ? Proxied(through, login, certificates)
            : Direct(login, certificates);
        var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        });
        var headers = new Metadata { { MilvusAuth.AuthorizationHeader, MilvusAuth.For(login) } };
        if (!string.IsNullOrEmpty(login.Database))
        {
            headers.Add(MilvusAuth.DatabaseHeader, login.Database);
        }

        return new MilvusClient(channel, headers, certificates, string.IsNullOrEmpty(login.ApiKey) ? login.LoginName : string.Empty);
    }

    /// <summary>
    /// The proxy to go through for <paramref name="address"/>, if any: the one given, else the environment's
    /// (HTTPS_PROXY, NO_PROXY), as the pipeline probes use it. Zilliz Cloud is on the internet, and a cluster's egress
    /// may only go through a proxy. Plaintext gRPC always goes direct: an HTTP proxy forwards plain requests as
    /// HTTP/1.1 and cannot carry it (such a Milvus is in the cluster or next to it anyway).
    /// </summary>
    private static IWebProxy? ProxyFor(Uri address, IWebProxy? proxy)
    {
        if (address.Scheme != Uri.UriSchemeHttps)
        {
            return null;
        }

        var candidate = proxy ?? HttpClient.DefaultProxy;
        return candidate.IsBypassed(address) || candidate.GetProxy(address) is null ? null : candidate;
    }

    /// <summary>
    /// Through a proxy, an <see cref="HttpClientHandler"/>: the gRPC channel opens a <see cref="SocketsHttpHandler"/>'s
    /// connections itself (for its load balancing) and so never uses its proxy. The call's cancellation after the
    /// login's timeout bounds the tunnel and the handshake.
    /// </summary>
    private static HttpClientHandler Proxied(IWebProxy proxy, DatabaseLogin login, CertificateValidation certificates)
    {
        var handler = new HttpClientHandler { Proxy = proxy, UseProxy = true, UseCookies = false };
        if (login.Tls.Mode != TlsMode.Disabled)
        {
            handler.ServerCertificateCustomValidationCallback = (_, certificate, chain, errors) => certificates.Validate(certificate, chain, errors);
        }

        return handler;
    }

    private static SocketsHttpHandler Direct(DatabaseLogin login, CertificateValidation certificates)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = login.Timeout,
            EnableMultipleHttp2Connections = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseCookies = false,
            UseProxy = false,
        };
        if (login.Tls.Mode != TlsMode.Disabled)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                certificates.Validate(certificate, chain, errors);
        }

        return handler;
    }

    /// <summary>
    /// Why <see cref="Create"/> found no address in the login: a host with a port or a stray bracket, which the schema
    /// refuses now but a credential stored before it did may still hold. Only an edit of the spec can mend it.
    /// </summary>
    public static string AddressProblem(DatabaseLogin login)
    {
        ArgumentNullException.ThrowIfNull(login);
        return $"'{login.Host}' with port {login.Port.ToString(CultureInfo.InvariantCulture)} makes no address to connect to: spec.endpoint.host takes a " +
            "host name or IP address without a port; put the port in spec.endpoint.port, and write an IPv6 address bare or in brackets";
    }

    /// <summary>Logs in (and selects the database); the way pymilvus validates a connection.</summary>
    public async Task<MilvusServerInfo> ConnectAsync(CancellationToken ct)
    {
        var request = new ConnectRequest
        {
            ClientInfo = new ClientInfo
            {
                SdkType = "passbox",
                SdkVersion = SdkVersion,
                LocalTime = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                User = _user,
                Host = Environment.MachineName,
            },
        };
        var response = await _service.ConnectAsync(request, Options(ct));
        MilvusStatus.EnsureSuccess(response.Status, "Connect");
        var info = response.ServerInfo;
        return new MilvusServerInfo(info?.BuildTags ?? string.Empty, info?.DeployMode ?? string.Empty, response.Identifier);
    }

    /// <summary>Returns the server's health and, when unhealthy, its reasons.</summary>
    public async Task<(bool Healthy, IReadOnlyList<string> Reasons)> CheckHealthAsync(CancellationToken ct)
    {
        var response = await _service.CheckHealthAsync(new CheckHealthRequest(), Options(ct));
        MilvusStatus.EnsureSuccess(response.Status, "CheckHealth");
        return (response.IsHealthy, response.Reasons.ToList());
    }

    public async Task<string> GetVersionAsync(CancellationToken ct)
    {
        var response = await _service.GetVersionAsync(new GetVersionRequest(), Options(ct));
        MilvusStatus.EnsureSuccess(response.Status, "GetVersion");
        return response.Version;
    }

    public async Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken ct)
    {
        var response = await _service.ListDatabasesAsync(new ListDatabasesRequest(), Options(ct));
        MilvusStatus.EnsureSuccess(response.Status, "ListDatabases");
        return response.DbNames.ToList();
    }

    public async Task CreateCredentialAsync(string username, string password, CancellationToken ct)
    {
        var status = await _service.CreateCredentialAsync(
            new CreateCredentialRequest { Username = username, Password = MilvusAuth.EncodePassword(password) }, Options(ct));
        MilvusStatus.EnsureSuccess(status, "CreateCredential");
    }

    /// <summary>Changes a password; the server checks the old one unless the caller is a superuser.</summary>
    public async Task UpdateCredentialAsync(string username, string oldPassword, string newPassword, CancellationToken ct)
    {
        var status = await _service.UpdateCredentialAsync(
            new UpdateCredentialRequest
            {
                Username = username,
                OldPassword = MilvusAuth.EncodePassword(oldPassword),
                NewPassword = MilvusAuth.EncodePassword(newPassword),
            },
            Options(ct));
        MilvusStatus.EnsureSuccess(status, "UpdateCredential");
    }

    public async Task DeleteCredentialAsync(string username, CancellationToken ct)
    {
        var status = await _service.DeleteCredentialAsync(new DeleteCredentialRequest { Username = username }, Options(ct));
        MilvusStatus.EnsureSuccess(status, "DeleteCredential");
    }

    public async Task<IReadOnlyList<string>> ListCredUsersAsync(CancellationToken ct)
    {
        var response = await _service.ListCredUsersAsync(new ListCredUsersRequest(), Options(ct));
        MilvusStatus.EnsureSuccess(response.Status, "ListCredUsers");
        return response.Usernames.ToList();
    }

    /// <summary>One user (or all when <paramref name="username"/> is null), with roles when asked.</summary>
    public async Task<IReadOnlyList<MilvusUser>> SelectUserAsync(string? username, bool includeRoles, CancellationToken ct)
    {
        var request = new SelectUserRequest { IncludeRoleInfo = includeRoles };
        if (username is not null)
        {
            request.User = new UserEntity { Name = username };
        }

        var response = await _service.SelectUserAsync(request, Options(ct));
        MilvusStatus.EnsureSuccess(response.Status, "SelectUser");
        return response.Results
            .Select(r => new MilvusUser(r.User?.Name ?? string.Empty, r.Roles.Select(role => role.Name).ToList()))
            .ToList();
    }

    public Task AddUserToRoleAsync(string username, string role, CancellationToken ct) =>
        OperateUserRoleAsync(username, role, OperateUserRoleType.AddUserToRole, ct);

    public Task RemoveUserFromRoleAsync(string username, string role, CancellationToken ct) =>
        OperateUserRoleAsync(username, role, OperateUserRoleType.RemoveUserFromRole, ct);

    public void Dispose()
    {
        _channel.Dispose();
        _certificates.Dispose();
    }

    private async Task OperateUserRoleAsync(string username, string role, OperateUserRoleType type, CancellationToken ct)
    {
        var status = await _service.OperateUserRoleAsync(
            new OperateUserRoleRequest { Username = username, RoleName = role, Type = type }, Options(ct));
        MilvusStatus.EnsureSuccess(status, "OperateUserRole");
    }

    private CallOptions Options(CancellationToken ct) => new(headers: _headers, cancellationToken: ct);
}
