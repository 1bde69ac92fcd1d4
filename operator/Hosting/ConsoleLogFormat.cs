using Microsoft.Extensions.Logging.Console;

namespace Passbox.Operator.Hosting;

/// <summary>
/// How the operator's log reads on the console: one line per entry with a UTC timestamp, unless the configuration names
/// another console formatter. <c>Logging__Console__FormatterName=json</c> (the chart's <c>extraEnv</c>) gives one JSON
/// object per line, whose <c>State</c> holds each field of the message (the credential's <c>Namespace</c> and
/// <c>Name</c>, the <c>Resource</c>, the <c>Cause</c>) for a log pipeline to index. Forcing the simple formatter, as
/// <c>AddSimpleConsole</c> does, threw that setting away.
/// </summary>
public static class ConsoleLogFormat
{
    /// <summary>ISO 8601 in UTC, to the millisecond.</summary>
    public const string Timestamp = "yyyy-MM-ddTHH:mm:ss.fffZ";

    public static void Apply(ILoggingBuilder logging)
    {
        ArgumentNullException.ThrowIfNull(logging);

        // Bound from Logging:Console before these run: a formatter or timestamp set there is kept.
        logging.Services.Configure<ConsoleLoggerOptions>(options => options.FormatterName ??= ConsoleFormatterNames.Simple);
        logging.Services.Configure<SimpleConsoleFormatterOptions>(options =>
        {
            options.SingleLine = true;
            if (options.TimestampFormat is null)
            {
                // The simple formatter writes the level right after the timestamp.
                options.TimestampFormat = Timestamp + " ";
                options.UseUtcTimestamp = true;
            }
        });
        logging.Services.Configure<JsonConsoleFormatterOptions>(options =>
        {
            if (options.TimestampFormat is null)
            {
                options.TimestampFormat = Timestamp;
                options.UseUtcTimestamp = true;
            }
        });
    }
}
