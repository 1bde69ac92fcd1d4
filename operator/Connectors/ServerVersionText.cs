namespace Passbox.Operator.Connectors;

/// <summary>
/// A server's version as <c>status.serverVersion</c> keeps it. The text comes from whatever answers at the address a
/// credential names (MySQL's <c>VERSION()</c>, Milvus's build tags, an HTTP header), so it is the server's own words,
/// not Passbox's: cut to <see cref="MaxLength"/> characters, and left out when it holds a line break or another control
/// character (no version does; a value that does is not one to show). The connectors also leave it out when it holds a
/// secret of the login (<see cref="SecretRedaction.Version"/>), as they do with every other text of a server.
/// </summary>
internal static class ServerVersionText
{
    /// <summary>Longer than any real version (MySQL's <c>8.0.36-0ubuntu0.22.04.1-log</c>, OceanBase's build tags).</summary>
    public const int MaxLength = 100;

    /// <summary>Ends a version cut to <see cref="MaxLength"/>, so nobody takes the start for the whole.</summary>
    public const string CutMark = "…";

    /// <summary>
    /// The version as the <c>Validated</c> message quotes it, which sits in the status beside <c>serverVersion</c>: the
    /// same short line, <see cref="SecretRedaction.LeftOut"/> when the whole text holds a secret of the login (looked
    /// for before the cut, which could keep the start of one), or null when there is nothing to quote.
    /// </summary>
    public static string? Quoted(string? version, DatabaseLogin login) =>
        version is not null && SecretRedaction.Version(version, login) is null ? SecretRedaction.LeftOut : Clean(version);

    /// <summary>The version to keep, or null when there is none to keep.</summary>
    public static string? Clean(string? version)
    {
        var text = version?.Trim();
        if (string.IsNullOrEmpty(text) || text.Any(char.IsControl))
        {
            return null;
        }

        return text.Length <= MaxLength ? text : string.Concat(text.AsSpan(0, MaxLength - CutMark.Length), CutMark);
    }
}
