namespace Passbox.CrdGen;

/// <summary>The API types cannot be turned into a CRD the API server would accept.</summary>
public sealed class CrdGenerationException : Exception
{
    public CrdGenerationException()
    {
    }

    public CrdGenerationException(string message)
        : base(message)
    {
    }

    public CrdGenerationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CrdGenerationException(IReadOnlyCollection<string> problems)
        : base(string.Join('\n', problems.Prepend($"{problems.Count} problem(s) in the API types:")))
    {
        Problems = problems;
    }

    public IReadOnlyCollection<string> Problems { get; } = [];
}
