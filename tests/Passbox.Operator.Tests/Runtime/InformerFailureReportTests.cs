using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>What an informer whose lists fail says, in its log line and in the problem <c>/readyz</c> quotes.</summary>
public sealed class InformerFailureReportTests
{
    private static readonly ResourceDescriptor Widgets = ResourceDescriptor.For<Widget>();

    [Fact]
    public async Task An_API_server_that_refuses_connections_is_one_line_naming_the_cause_without_a_stack_trace()
    {
        // An API server restart: every informer's list or watch meets a refused connection and is retried with backoff.
        // Each attempt was logged with the whole HTTP client stack (some 4 KB a line, a dozen informers at once), and
        // /readyz said only "HttpRequestException".
        var (line, problem) = await FirstFailureAsync(() =>
            throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (api.test:6443)", new SocketException((int)SocketError.ConnectionRefused)));

        line.Should().Be($"List of widgets.test.passbox.dev failed: Connection refused (api.test:6443) (attempt 1; retrying in {FirstDelay(line)})");
        FirstDelay(line).Should().MatchRegex("^[0-9]+(\\.[0-9]+)?s$", "a delay reads in seconds, not as a TimeSpan's 00:00:00.4678567");
        problem.Should().Be("listing widgets.test.passbox.dev failed: Connection refused (api.test:6443)");
    }

    [Fact]
    public async Task A_failed_TLS_handshake_names_the_certificate_problem_of_its_inner_exception()
    {
        var (line, problem) = await FirstFailureAsync(() =>
            throw new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.",
                new System.Security.Authentication.AuthenticationException("The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot")));

        line.Should().StartWith("List of widgets.test.passbox.dev failed: The SSL connection could not be established: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot (attempt 1;")
            .And.NotContain(" at ");
        problem.Should().Be("listing widgets.test.passbox.dev failed: The SSL connection could not be established: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot");
    }

    [Fact]
    public async Task A_proxy_s_user_and_password_in_the_cause_are_cut_from_the_line_and_from_readyz()
    {
        // .NET quotes the proxy's address when its tunnel fails; HTTPS_PROXY may carry a user and password.
        var (line, problem) = await FirstFailureAsync(() =>
            throw new HttpRequestException(HttpRequestError.ProxyTunnelError, "The proxy tunnel request to proxy 'http://ops:pr0xy-s3cret@proxy.corp:3128/' failed with status code '407'."));

        line.Should().Contain("failed: The proxy tunnel request to proxy 'http://proxy.corp:3128/' failed with status code '407' (attempt 1;").And.NotContain("pr0xy-s3cret");
        problem.Should().Be("listing widgets.test.passbox.dev failed: The proxy tunnel request to proxy 'http://proxy.corp:3128/' failed with status code '407'");
    }

    [Fact]
    public async Task An_answer_of_the_API_server_is_one_line_with_its_code()
    {
        // A freshly started API server answers a CRD's list 404 until it has loaded the CRDs.
        var (line, _) = await FirstFailureAsync(() => Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("404 page not found") }));

        line.Should().StartWith("List of widgets.test.passbox.dev failed: 404 Not Found: no status in the response (attempt 1;").And.NotContain(" at ");
    }

    [Fact]
    public async Task A_401_is_told_as_the_operator_s_credentials_not_as_a_missing_role()
    {
        // An expired or revoked ServiceAccount token, or a kubeconfig for another cluster: the line said to grant get, list
        // and watch in the role, which changes nothing, and /readyz said "401 Unauthorized: Unauthorized".
        var (line, problem) = await FirstFailureAsync(() => Task.FromResult(FakeApiServer.Status(HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized")));

        line.Should().StartWith("List of widgets.test.passbox.dev was refused by the API server (401 Unauthorized): the API server did not accept the operator's credentials")
            .And.Contain("no role grant mends this").And.NotContain("role must allow");
        problem.Should().StartWith("listing widgets.test.passbox.dev was refused: 401 Unauthorized: the API server did not accept the operator's credentials");
    }

    [Fact]
    public async Task A_403_still_says_what_the_role_must_allow_in_the_server_s_words()
    {
        var (line, problem, fields) = await FirstFailureWithFieldsAsync(() => Task.FromResult(
            FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "widgets.test.passbox.dev is forbidden: User passbox cannot list resource widgets")));

        line.Should().Contain("(403 Forbidden: widgets.test.passbox.dev is forbidden: User passbox cannot list resource widgets); the operator's role must allow get, list and watch on it");
        // The JSON console formatter writes the whole line as State.Message: a field of that name made the key twice.
        fields.Should().NotContain("Message").And.Contain("Resource");
        problem.Should().Be("listing widgets.test.passbox.dev was refused: 403 Forbidden: widgets.test.passbox.dev is forbidden: User passbox cannot list resource widgets");
    }

    private static bool IsListFailure(string line) => line.StartsWith("List of ", StringComparison.Ordinal);

    private static string FirstDelay(string line) => line.Split("retrying in ")[1].TrimEnd(')');

    /// <summary>Runs an informer against a server that fails every request alike; its first log line and its sync problem.</summary>
    private static async Task<(string Line, string? Problem)> FirstFailureAsync(Func<Task<HttpResponseMessage>> answer)
    {
        var (line, problem, _) = await FirstFailureWithFieldsAsync(answer);
        return (line, problem);
    }

    /// <summary>As <see cref="FirstFailureAsync"/>, with the names of the first failure line's fields.</summary>
    private static async Task<(string Line, string? Problem, IReadOnlyList<string> Fields)> FirstFailureWithFieldsAsync(Func<Task<HttpResponseMessage>> answer)
    {
        var server = new FakeApiServer(_ => answer());
        var logs = new RecordingLoggers();
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Namespace = "ns" }, new FakeTimeProvider(), logs);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        try
        {
            await FakeApiServer.WaitUntilAsync(() => logs.Messages.Any(IsListFailure) && informer.SyncProblem is not null);
            var lines = logs.Messages.ToArray();
            var first = Array.FindIndex(lines, IsListFailure);
            return (lines[first], informer.SyncProblem, logs.FieldNames.ElementAt(first));
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }
}
