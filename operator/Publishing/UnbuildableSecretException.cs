namespace Passbox.Operator.Publishing;

/// <summary>
/// The spec asks for a Secret that cannot be built: a server that is no URL, an Argo CD secret type the credential's
/// type cannot fill. The schema refuses these on apply, but a credential stored before a rule existed can still have
/// one. The message names the spec field to fix and never holds a value from a source Secret or the server URL (which
/// could carry a token): it becomes the message of an InvalidSpec condition.
/// </summary>
public sealed class UnbuildableSecretException : Exception
{
    public UnbuildableSecretException()
    {
    }

    public UnbuildableSecretException(string message)
        : base(message)
    {
    }

    public UnbuildableSecretException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
