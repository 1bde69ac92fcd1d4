namespace Passbox.Operator.Runtime.Events;

/// <summary>
/// Writes the queued Events when the host stops gracefully. Hosted services stop in reverse order, so registered
/// before the controllers it runs after they have finished, within the host's shutdown timeout.
/// </summary>
public sealed class EventFlushOnShutdown(EventRecorder recorder) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => recorder.FlushAsync(cancellationToken);
}
