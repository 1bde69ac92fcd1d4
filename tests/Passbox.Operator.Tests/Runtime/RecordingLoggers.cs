using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// Keeps every log line as a console log shows it: the formatted message, then the exception's text (its message, inner
/// exceptions and stack) when one was logged.
/// </summary>
internal sealed class RecordingLoggers : ILoggerFactory, ILoggerProvider, ILogger
{
    public ConcurrentQueue<string> Messages { get; } = new();

    /// <summary>The names of each line's message fields, in the order of <see cref="Messages"/>: what a JSON log carries.</summary>
    public ConcurrentQueue<IReadOnlyList<string>> FieldNames { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        IReadOnlyList<string> names = state is IEnumerable<KeyValuePair<string, object?>> fields ? [.. fields.Select(f => f.Key)] : [];
        var line = exception is null ? formatter(state, exception) : $"{formatter(state, exception)}{Environment.NewLine}{exception}";
        lock (FieldNames)
        {
            // One lock, so that the n-th field list belongs to the n-th line when several threads log at once.
            FieldNames.Enqueue(names);
            Messages.Enqueue(line);
        }
    }

    public void Dispose()
    {
    }
}
