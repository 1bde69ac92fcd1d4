using System.Net;
using System.Text.Json.Nodes;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A real Prometheus (Debian's package, installed by <c>make deps</c>) on a free loopback port, with its own
/// configuration and storage in a temporary folder: it scrapes what a test points it at and evaluates the rules it is
/// given, every second, and answers the HTTP API. Gone with the test, or with the test process if that dies first
/// (a <see cref="WatchedProcess"/>).
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly WatchedProcess process;
    private readonly string directory;
    private readonly HttpClient http;

    private PrometheusServer(WatchedProcess process, string directory, Uri address)
    {
        this.process = process;
        this.directory = directory;
        http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>
    /// Starts Prometheus with one scrape job (<paramref name="scrapeJob"/>, a <c>scrape_configs</c> entry) and the rule
    /// groups given (a rule file's <c>groups</c>); scrapes and evaluations run every second.
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(JsonObject scrapeJob, JsonArray ruleGroups)
    {
        var directory = Directory.CreateTempSubdirectory("passbox-prometheus-").FullName;
        // JSON is YAML: both files are written as JSON.
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yml"), new JsonObject { ["groups"] = ruleGroups.DeepClone() }.ToJsonString());
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), new JsonObject
        {
            ["global"] = new JsonObject { ["scrape_interval"] = "1s", ["scrape_timeout"] = "900ms", ["evaluation_interval"] = "1s" },
            ["rule_files"] = new JsonArray("rules.yml"),
            ["scrape_configs"] = new JsonArray(scrapeJob.DeepClone()),
        }.ToJsonString());

        var port = LoopbackPorts.Unused();
        var process = WatchedProcess.Start(
            Path.Combine(directory, "prometheus.log"),
            Binary,
            $"--config.file={Path.Combine(directory, "prometheus.yml")}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn");
        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            if (process.HasExited)
            {
                var log = process.Log();
                await server.DisposeAsync();
                throw new InvalidOperationException($"Prometheus exited:\n{log}");
            }

            try
            {
                using var ready = await server.http.GetAsync(new Uri("-/ready", UriKind.Relative));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening, or not answering, yet: the deadline below decides (and stops the process).
            }

            if (DateTime.UtcNow > deadline)
            {
                var log = process.Log();
                await server.DisposeAsync();
                throw new TimeoutException($"Prometheus was not ready within 30 s:\n{log}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The result vector of an instant query: each element's labels and value.</summary>
    public async Task<IReadOnlyList<PrometheusSample>> QueryAsync(string promQl)
    {
        var answer = await GetDataAsync($"api/v1/query?query={Uri.EscapeDataString(promQl)}");
        return answer["result"]!.AsArray()
            .Select(sample => new PrometheusSample(LabelsOf(sample!["metric"]!), (string)sample["value"]![1]!))
            .ToList();
    }

    /// <summary>The alerts the rules hold now, pending or firing: labels and state.</summary>
    public async Task<IReadOnlyList<PrometheusAlert>> AlertsAsync()
    {
        var answer = await GetDataAsync("api/v1/alerts");
        return answer["alerts"]!.AsArray()
            .Select(alert => new PrometheusAlert(LabelsOf(alert!["labels"]!), (string)alert["state"]!))
            .ToList();
    }

    public ValueTask DisposeAsync()
    {
        http.Dispose();
        process.Dispose();
        Directory.Delete(directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private async Task<JsonNode> GetDataAsync(string path)
    {
        var body = JsonNode.Parse(await http.GetStringAsync(new Uri(path, UriKind.Relative)))!;
        return (string?)body["status"] == "success" ? body["data"]! : throw new InvalidOperationException($"Prometheus answered {body.ToJsonString()}");
    }

    private static Dictionary<string, string> LabelsOf(JsonNode labels) =>
        labels.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);
}

/// <summary>One element of an instant query's result.</summary>
public sealed record PrometheusSample(IReadOnlyDictionary<string, string> Labels, string Value);

/// <summary>An alert a rule holds: pending or firing.</summary>
public sealed record PrometheusAlert(IReadOnlyDictionary<string, string> Labels, string State);
