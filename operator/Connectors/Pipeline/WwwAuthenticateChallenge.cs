namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// One challenge of a <c>WWW-Authenticate</c> header (RFC 9110 §11.6.1): a scheme with either
/// auth-params or a token68.
/// </summary>
public sealed record WwwAuthenticateChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters, string? Token68)
{
    public string? this[string name] => Parameters.TryGetValue(name, out var value) ? value : null;

    public bool IsScheme(string scheme) => string.Equals(Scheme, scheme, StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses all challenges of all given header values; malformed trailing input is dropped.</summary>
    public static IReadOnlyList<WwwAuthenticateChallenge> ParseAll(IEnumerable<string> headerValues)
    {
        ArgumentNullException.ThrowIfNull(headerValues);
        var challenges = new List<WwwAuthenticateChallenge>();
        foreach (var value in headerValues)
        {
            challenges.AddRange(Parse(value));
        }

        return challenges;
    }

    /// <summary>Parses the challenges of one header value.</summary>
    public static IReadOnlyList<WwwAuthenticateChallenge> Parse(string? headerValue)
    {
        var challenges = new List<WwwAuthenticateChallenge>();
        if (string.IsNullOrWhiteSpace(headerValue))
        {
            return challenges;
        }

        var reader = new Reader(headerValue);
        while (true)
        {
            reader.SkipSpacesAndCommas();
            if (reader.AtEnd)
            {
                break;
            }

            var scheme = reader.ReadToken();
            if (scheme.Length == 0)
            {
                break;
            }

            var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? token68 = null;
            var first = true;
            while (true)
            {
                var start = reader.Position;
                reader.SkipSpaces();
                if (reader.AtEnd)
                {
                    break;
                }

                var name = reader.ReadToken68();
                if (name.Length == 0)
                {
                    reader.Position = start;
                    break;
                }

                reader.SkipSpaces();
                if (reader.Peek == '=' && !name.EndsWith('='))
                {
                    reader.Position++;
                    reader.SkipSpaces();
                    parameters[name] = reader.Peek == '"' ? reader.ReadQuoted() : reader.ReadToken();
                }
                else if (first && (reader.AtEnd || reader.Peek == ','))
                {
                    token68 = name;
                }
                else
                {
                    // A token not followed by '=' starts the next challenge.
                    reader.Position = start;
                    break;
                }

                first = false;
                reader.SkipSpaces();
                if (reader.Peek != ',')
                {
                    break;
                }

                reader.Position++;
            }

            challenges.Add(new WwwAuthenticateChallenge(scheme, parameters, token68));
            if (!reader.AtEnd && reader.Peek != ',' && !char.IsWhiteSpace(reader.Peek) && !IsTokenChar(reader.Peek))
            {
                break;
            }
        }

        return challenges;
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    private static bool IsToken68Char(char c) =>
        char.IsAsciiLetterOrDigit(c) || "-._~+/".Contains(c, StringComparison.Ordinal);

    private sealed class Reader(string text)
    {
        public int Position { get; set; }

        public bool AtEnd => Position >= text.Length;

        public char Peek => AtEnd ? '\0' : text[Position];

        public void SkipSpaces()
        {
            while (!AtEnd && (text[Position] == ' ' || text[Position] == '\t'))
            {
                Position++;
            }
        }

        public void SkipSpacesAndCommas()
        {
            while (!AtEnd && (text[Position] == ' ' || text[Position] == '\t' || text[Position] == ','))
            {
                Position++;
            }
        }

        public string ReadToken()
        {
            var start = Position;
            while (!AtEnd && IsTokenChar(text[Position]))
            {
                Position++;
            }

            return text[start..Position];
        }

        /// <summary>Reads a token, or a token68 with its trailing '=' padding when one follows.</summary>
        public string ReadToken68()
        {
            var start = Position;
            while (!AtEnd && (IsTokenChar(text[Position]) || IsToken68Char(text[Position])))
            {
                Position++;
            }

            if (Position == start)
            {
                return string.Empty;
            }

            // Padding '=' counts as part of a token68 only when nothing but spaces, a comma or the end follows.
            var afterName = Position;
            while (!AtEnd && text[Position] == '=')
            {
                Position++;
            }

            var padded = Position;
            SkipSpaces();
            var isToken68 = padded > afterName && (AtEnd || Peek == ',');
            Position = isToken68 ? padded : afterName;
            return text[start..Position];
        }

        public string ReadQuoted()
        {
            Position++;
            var value = new System.Text.StringBuilder();
            while (!AtEnd && text[Position] != '"')
            {
                if (text[Position] == '\\' && Position + 1 < text.Length)
                {
                    Position++;
                }

                value.Append(text[Position]);
                Position++;
            }

            if (!AtEnd)
            {
                Position++;
            }

            return value.ToString();
        }
    }
}
