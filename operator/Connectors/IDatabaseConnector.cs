namespace Passbox.Operator.Connectors;

/// <summary>
/// Logs in to one kind of database to prove a credential works. One login per call, closed before
/// the call returns; no pools. Failures are returned as outcomes, never thrown, except cancellation
/// by the caller's token (and a non-positive <see cref="DatabaseLogin.Timeout"/>, a caller bug).
/// </summary>
public interface IDatabaseConnector
{
    DatabaseEngine Engine { get; }

    Task<ValidationOutcome> ValidateAsync(DatabaseLogin login, CancellationToken ct);
}
