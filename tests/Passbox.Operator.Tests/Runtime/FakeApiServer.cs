using System.Collections.Concurrent;
using System.Net;
using System.Text;
using k8s;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>An in-process stand-in for the API server: records every request and answers from a script.</summary>
internal sealed class FakeApiServer : DelegatingHandler
{
    private readonly Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>> respond;

    public FakeApiServer(Func<RecordedRequest, Task<HttpResponseMessage>> respond)
    {
        this.respond = (request, _) => respond(request);
    }

    /// <summary>For answers that wait, and end when the client gives up (its token).</summary>
    public FakeApiServer(Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>> respond)
    {
        this.respond = respond;
    }

    public FakeApiServer(Func<RecordedRequest, HttpResponseMessage> respond)
        : this(request => Task.FromResult(respond(request)))
    {
    }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public KubernetesApiClient CreateClient() =>
        new(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, this));

    public static HttpResponseMessage Json(HttpStatusCode status, string json, Action<HttpResponseMessage>? configure = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        configure?.Invoke(response);
        return response;
    }

    public static HttpResponseMessage Status(HttpStatusCode code, string reason, string message = "") =>
        Json(code, $$"""{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"{{reason}}","message":"{{message}}","code":{{(int)code}}}""");

    /// <summary>A watch response carrying <paramref name="lines"/> (one event each), then the end of the stream.</summary>
    public static HttpResponseMessage Watch(params string[] lines) =>
        new(HttpStatusCode.OK) { Content = new StringContent(string.Concat(lines.Select(line => line + "\n")), Encoding.UTF8, "application/json") };

    /// <summary>Waits up to five seconds for what the fake's clients do in the background.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        condition().Should().BeTrue();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var recorded = new RecordedRequest(
            request.Method,
            request.RequestUri!.AbsolutePath,
            request.RequestUri.Query,
            request.Content?.Headers.ContentType?.MediaType,
            request.Headers.Accept.ToString(),
            body);
        Requests.Enqueue(recorded);
        var response = await respond(recorded, cancellationToken);
        response.RequestMessage = request;
        return response;
    }
}

internal sealed record RecordedRequest(HttpMethod Method, string Path, string Query, string? ContentType, string Accept, string? Body)
{
    public bool IsWatch => Query.Contains("watch=true", StringComparison.Ordinal);
}
