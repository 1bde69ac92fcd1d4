using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Passbox.IntegrationTests.Doubles.Milvus;

/// <summary>
/// A test double of a Milvus server: a real gRPC server (Kestrel, HTTP/2 on 127.0.0.1, plaintext or
/// TLS with an in-process certificate) serving <c>milvus.proto.milvus.MilvusService</c> from the
/// same .proto files as the operator's client.
/// <para>
/// Why a double: Milvus needs etcd, object storage and several Go services, none of which can be
/// installed or run on the machines this project builds on (no Docker, only Debian/NuGet/npm
/// packages). The double reproduces what the connector and user management depend on, as written
/// down in shared/reference/milvus-wire.md: Base64 <c>user:password</c> or API key in the
/// <c>authorization</c> metadata, checked on every call, with Milvus's exact Unauthenticated
/// messages; <c>dbname</c> metadata and Status code 800 for an unknown database; users with Base64
/// passwords, root (and optionally Zilliz's db_admin) undeletable (1401), the old-password check (1400) skipped
/// only for configured superusers, user-name and password rules, role binding. It counts
/// login attempts per user, can be stopped and started again on the same port, and can pretend to
/// be a server without Connect (before 2.2.9).
/// </para>
/// </summary>
public sealed class MilvusDouble : IAsyncDisposable
{
    private readonly TestCertificates? _certificates;
    private WebApplication? _app;

    private MilvusDouble(MilvusDoubleState state, TestCertificates? certificates)
    {
        State = state;
        _certificates = certificates;
    }

    public MilvusDoubleState State { get; }

    public int Port { get; private set; }

    public string Host => "127.0.0.1";

    public bool IsRunning => _app is not null;

    /// <summary>True when serving TLS.</summary>
    public bool UsesTls => _certificates is not null;

    /// <summary>The CA that signed the server certificate, as PEM (TLS only).</summary>
    public string? CaCertificatePem => _certificates?.CaPem;

    /// <summary>Starts a double on a free port.</summary>
    /// <param name="tls">Serve TLS with a certificate signed by <see cref="CaCertificatePem"/>.</param>
    /// <param name="certificateHosts">Names in the server certificate (default localhost and 127.0.0.1).</param>
    public static async Task<MilvusDouble> StartAsync(bool tls = false, params string[] certificateHosts)
    {
        var server = new MilvusDouble(new MilvusDoubleState(), tls ? TestCertificates.Create(certificateHosts) : null);
        await server.StartOnPortAsync(0);
        return server;
    }

    /// <summary>Starts again on the same port after <see cref="StopAsync"/>; users and counters stay.</summary>
    public async Task RestartAsync()
    {
        if (_app is not null)
        {
            return;
        }

        // The port was ours a moment ago; retry briefly in case the kernel has not released it.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await StartOnPortAsync(Port);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Stops listening and drops open connections; clients then see Unavailable.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        var app = _app;
        _app = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await app.StopAsync(timeout.Token);
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _certificates?.Dispose();
    }

    private async Task StartOnPortAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (_certificates is not null)
                {
                    listen.UseHttps(_certificates.Server);
                }
            });
        });
        builder.Services.AddSingleton(State);
        builder.Services.AddGrpc(options => options.Interceptors.Add<MilvusAuthInterceptor>());
        var app = builder.Build();
        app.MapGrpcService<MilvusDoubleService>();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
    }
}
