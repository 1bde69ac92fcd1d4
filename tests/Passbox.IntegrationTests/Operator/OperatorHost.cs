using System.Collections.Concurrent;
using Passbox.Operator.Hosting;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The real operator application, run in-process against the test cluster with the operator's own credentials,
/// watching one test namespace. Every log line it writes is kept, so tests can prove no secret leaks into logs.
/// </summary>
public sealed class OperatorHost : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly LogCapture logs;

    private OperatorHost(WebApplication app, LogCapture logs)
    {
        this.app = app;
        this.logs = logs;
    }

    public IReadOnlyCollection<string> LogLines => logs.Lines;

    public IServiceProvider Services => app.Services;

    /// <summary>Where the operator serves <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> (a free port on loopback).</summary>
    public Uri BaseAddress => new(app.Urls.First());

    public static async Task<OperatorHost> StartAsync(string kubeconfig, string watchNamespace, params string[] extraArgs)
    {
        var logs = new LogCapture();
        string[] args =
        [
            $"--kubeconfig={kubeconfig}",
            "--leader-elect=false",
            $"--PASSBOX_WATCH_NAMESPACE={watchNamespace}",
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Debug",
            "--Logging:LogLevel:Microsoft=Warning",
            "--Logging:LogLevel:System.Net.Http=Warning",
            .. extraArgs,
        ];
        var app = PassboxOperator.Build(args, builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        return new OperatorHost(app, logs);
    }

    /// <summary>
    /// Waits until this operator has finished a reconcile of <paramref name="kind"/> <paramref name="namespace"/>/<paramref name="name"/>
    /// (its Debug line): after a restart, what it decides about a credential is known from then on, not after a guess
    /// of seconds.
    /// </summary>
    public Task WaitForReconcileAsync(string kind, string @namespace, string name) =>
        ClusterTestKit.EventuallyAsync(
            () => Task.FromResult(logs.Lines.Any(line => line.Contains($"Reconciled {kind} {@namespace}/{name}: ", StringComparison.Ordinal))),
            reconciled => reconciled,
            $"the operator to reconcile {kind} {@namespace}/{name}");

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }

    /// <summary>Formats every entry, exceptions included, the way a log shipper would see it.</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> lines = new();

        public IReadOnlyCollection<string> Lines => lines;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
