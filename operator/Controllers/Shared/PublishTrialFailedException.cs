namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The dry run of the Secret's write (see <see cref="PublishTrial"/>) failed without an answer on the write itself: the
/// API server failed (a 500, a 503) or could not be reached. The password was not changed; the message says so.
/// </summary>
public sealed class PublishTrialFailedException(string message, Exception inner) : Exception(message, inner);
