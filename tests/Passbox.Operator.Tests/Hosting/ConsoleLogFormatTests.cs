using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Passbox.Operator.Hosting;

namespace Passbox.Operator.Tests.Hosting;

/// <summary>What the operator's console log looks like, by default and with the formatter the configuration names.</summary>
public sealed class ConsoleLogFormatTests
{
    [Fact]
    public async Task By_default_each_entry_is_one_line_with_a_UTC_timestamp()
    {
        var line = await ConsoleLineAsync();

        line.Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn: Passbox\.Operator\.Runtime\.Informer\.clustercredentials\[0\] List of clustercredentials\.passbox\.dev failed: Connection refused \(10\.96\.0\.1:443\)\r?\n$");
    }

    [Fact]
    public async Task Logging__Console__FormatterName_json_gives_one_JSON_object_per_line_with_each_field_of_the_message()
    {
        // Set as the .NET documentation says (env Logging__Console__FormatterName=json, the chart's extraEnv); it was
        // thrown away for the simple formatter, so a log pipeline could only parse text.
        var line = await ConsoleLineAsync("--Logging:Console:FormatterName=json");

        line.TrimEnd().Should().NotContain("\n", "one line per entry");
        var entry = JsonNode.Parse(line)!;
        ((string?)entry["LogLevel"]).Should().Be("Warning");
        ((string?)entry["Category"]).Should().Be("Passbox.Operator.Runtime.Informer.clustercredentials");
        ((string?)entry["Message"]).Should().Be("List of clustercredentials.passbox.dev failed: Connection refused (10.96.0.1:443)");
        ((string?)entry["State"]!["Resource"]).Should().Be("clustercredentials.passbox.dev");
        ((string?)entry["State"]!["Cause"]).Should().Be("Connection refused (10.96.0.1:443)");
        ((string?)entry["Timestamp"]).Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", "UTC, without the simple formatter's trailing blank");
    }

    /// <summary>
    /// The operator's application is built with <paramref name="args"/> and one entry is written by the console formatter
    /// its configuration picks, as the console logger would print it.
    /// </summary>
    private static async Task<string> ConsoleLineAsync(params string[] args)
    {
        await using var app = PassboxOperator.Build(["--urls=http://127.0.0.1:0", "--leader-elect=false", .. args]);
        var name = app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName;
        var formatter = app.Services.GetServices<ConsoleFormatter>().Single(f => f.Name == name);
        var state = new Dictionary<string, object?>
        {
            ["Operation"] = "List",
            ["Resource"] = "clustercredentials.passbox.dev",
            ["Cause"] = "Connection refused (10.96.0.1:443)",
            ["{OriginalFormat}"] = "{Operation} of {Resource} failed: {Cause}",
        };
        var entry = new LogEntry<IReadOnlyList<KeyValuePair<string, object?>>>(
            LogLevel.Warning, "Passbox.Operator.Runtime.Informer.clustercredentials", default, [.. state], null,
            (_, _) => "List of clustercredentials.passbox.dev failed: Connection refused (10.96.0.1:443)");
        using var console = new StringWriter();
        formatter.Write(entry, new LoggerExternalScopeProvider(), console);
        return console.ToString();
    }
}
