using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;
using Passbox.Operator.Tests.Pipeline;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>
/// A Milvus endpoint that is not a Milvus gRPC port as the spec says: each failure ends as the reason that decides its
/// retry (Unreachable backs off, the others wait for an edit or the interval) with a message that names the field to
/// fix, and neither a gRPC status dump nor .NET's words about HTTP/2 frames or disposed streams.
/// </summary>
public sealed class MilvusTransportFailureTests
{
    private const string Password = "S3cret-pass";

    private static DatabaseLogin Login(int port, TlsMode mode, string host = "127.0.0.1") => new()
    {
        Host = host,
        Port = port,
        LoginName = "app_user",
        Password = Password,
        Tls = new TlsSettings(mode),
        // Every failure here comes back at once; the time only bounds the TLS question, which a loaded machine may need.
        Timeout = TimeSpan.FromSeconds(10),
    };

    private static Task<ValidationOutcome> ValidateAsync(DatabaseLogin login) => new MilvusConnector().ValidateAsync(login, CancellationToken.None);

    private static void ShouldBePlainWords(ValidationOutcome outcome)
    {
        outcome.Message.Should().NotContainAny("Exception", "HttpProtocolError", "PROTOCOL_ERROR", "disposed", "RequestVersionExact", "StatusCode", "Internal:", "Unavailable:");
        outcome.Message.Should().NotContain(Password);
    }

    [Fact]
    public async Task A_port_nothing_listens_on_is_Unreachable_naming_the_port_field()
    {
        int port;
        using (var taken = new TcpListener(IPAddress.Loopback, 0))
        {
            taken.Start();
            port = ((IPEndPoint)taken.LocalEndpoint).Port;
        }

        var outcome = await ValidateAsync(Login(port, TlsMode.Disabled));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable, outcome.Message);
        outcome.Message.Should().Contain($"127.0.0.1:{port}").And.Contain("spec.endpoint.port").And.Contain("19530");
        ShouldBePlainWords(outcome);
    }

    [Fact]
    public async Task A_host_name_that_does_not_resolve_is_Unreachable_naming_the_host_field()
    {
        var outcome = await ValidateAsync(Login(19530, TlsMode.Required, host: "milvus.passbox-test.invalid"));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable, outcome.Message);
        outcome.Message.Should().Contain("milvus.passbox-test.invalid").And.Contain("does not resolve").And.Contain("spec.endpoint.host")
            .And.NotContain("spec.endpoint.port");
    }

    [Fact]
    public async Task A_plain_HTTP_server_is_Unsupported_saying_which_port_takes_gRPC()
    {
        await using var web = new CannedHttpServer(_ => new CannedResponse(404, Body: "404 page not found"));

        var outcome = await ValidateAsync(Login(web.Port, TlsMode.Disabled));

        outcome.Reason.Should().Be(ValidationReasons.Unsupported, outcome.Message);
        outcome.Message.Should().Contain($"127.0.0.1:{web.Port}").And.Contain("not in gRPC").And.Contain("spec.endpoint.port").And.Contain("19530");
        ShouldBePlainWords(outcome);
    }

    [Fact]
    public async Task A_server_that_closes_the_connection_unanswered_is_Unreachable_in_plain_words()
    {
        await using var closing = new LoopbackListener((client, _) =>
        {
            client.Dispose();
            return Task.CompletedTask;
        });

        var outcome = await ValidateAsync(Login(closing.Port, TlsMode.Disabled));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable, outcome.Message);
        outcome.Message.Should().Contain($"127.0.0.1:{closing.Port}").And.Contain("closed it without a gRPC answer").And.Contain("spec.endpoint.port");
        ShouldBePlainWords(outcome);
    }

    [Fact]
    public async Task Plaintext_to_a_TLS_port_is_TLSFailed_telling_to_set_the_TLS_mode()
    {
        using var certificates = new TestCertificates();
        await using var tlsPort = new CannedHttpServer(_ => new CannedResponse(404), certificates.Server("127.0.0.1"));

        var outcome = await ValidateAsync(Login(tlsPort.Port, TlsMode.Disabled));

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain($"127.0.0.1:{tlsPort.Port} speaks TLS").And.Contain("tls.mode");
        ShouldBePlainWords(outcome);
    }

    [Fact]
    public async Task A_handshake_the_client_words_without_an_inner_exception_still_asks_the_port_about_TLS()
    {
        // One of the ways the client reports a TLS port that closed on plaintext HTTP/2, seen under load: no inner exception.
        using var certificates = new TestCertificates();
        await using var tlsPort = new CannedHttpServer(_ => new CannedResponse(404), certificates.Server("127.0.0.1"));
        var failure = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, "Error starting gRPC call.",
            new HttpRequestException("An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.")));
        using var time = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        var outcome = await MilvusErrors.DiagnoseAsync(failure, Login(tlsPort.Port, TlsMode.Disabled), null, time.Token);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain("speaks TLS");
    }

    [Fact]
    public async Task A_plain_HTTP_server_that_closed_before_its_answer_was_read_is_still_Unsupported()
    {
        // Under load the client may meet the web server's close before it reads its HTTP/1 answer to the HTTP/2 preface.
        await using var web = new CannedHttpServer(_ => new CannedResponse(404, Body: "404 page not found"));
        var failure = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "Error starting gRPC call.",
            new HttpRequestException("An error occurred while sending the request.", new IOException("The response ended prematurely."))));
        using var time = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var outcome = await MilvusErrors.DiagnoseAsync(failure, Login(web.Port, TlsMode.Disabled), null, time.Token);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported, outcome.Message);
        outcome.Message.Should().Contain("not in gRPC").And.Contain("19530");
    }

    [Fact]
    public async Task A_preface_written_to_a_connection_the_server_already_closed_is_not_told_as_a_failed_connect()
    {
        // Broken pipe (SocketError.Shutdown) on the client's first write: the connection was made, the server hung up.
        await using var closing = new LoopbackListener((client, _) =>
        {
            client.Dispose();
            return Task.CompletedTask;
        });
        var failure = new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "Error starting gRPC call.",
            new HttpRequestException("An error occurred while sending the request.",
                new IOException("Unable to write data to the transport connection: Broken pipe.", new SocketException((int)SocketError.Shutdown)))));
        using var time = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var outcome = await MilvusErrors.DiagnoseAsync(failure, Login(closing.Port, TlsMode.Disabled), null, time.Token);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable, outcome.Message);
        outcome.Message.Should().Contain("closed it without a gRPC answer").And.NotContain("Cannot connect");
        ShouldBePlainWords(outcome);
    }

    [Fact]
    public async Task An_HTTPS_server_without_HTTP2_is_Unsupported_saying_gRPC_needs_it()
    {
        using var certificates = new TestCertificates();
        await using var rest = new CannedHttpServer(_ => new CannedResponse(404), certificates.Server("127.0.0.1"));

        var outcome = await ValidateAsync(Login(rest.Port, TlsMode.Required));

        outcome.Reason.Should().Be(ValidationReasons.Unsupported, outcome.Message);
        outcome.Message.Should().Contain($"127.0.0.1:{rest.Port}").And.Contain("no HTTP/2").And.Contain("gRPC endpoint");
        ShouldBePlainWords(outcome);
    }

    [Fact]
    public async Task A_TLS_question_that_runs_out_the_time_leaves_a_closed_connection_Unreachable_not_Timeout()
    {
        // Closes a plaintext connection at once, and never finishes a TLS handshake.
        await using var port = new LoopbackListener(async (client, stop) =>
        {
            using (client)
            {
                var first = new byte[1];
                if (await client.GetStream().ReadAsync(first, stop) == 1 && first[0] == 0x16)
                {
                    await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
        });
        var watch = Stopwatch.StartNew();

        var outcome = await ValidateAsync(Login(port.Port, TlsMode.Disabled) with { Timeout = TimeSpan.FromSeconds(1) });

        outcome.Reason.Should().Be(ValidationReasons.Unreachable, outcome.Message);
        outcome.Message.Should().Contain("closed it without a gRPC answer");
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3), "the TLS question is bounded by the login's timeout");
    }
}
