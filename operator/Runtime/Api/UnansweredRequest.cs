using System.Text.RegularExpressions;

namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// A request to the API server that got no answer: the connection was refused, the name did not resolve, the TLS
/// handshake failed, the answer was cut off, or none came in time. The cause is in .NET's own words (host and port,
/// socket error, certificate problem), never the server's, so it quotes no object; a URL's user info is cut. One line
/// of it is what an on-call person needs; the stack through the HTTP client under it tells nothing more, and an API
/// server restart had every informer log some 4 KB of it at each retry.
/// </summary>
public static partial class UnansweredRequest
{
    /// <summary>The cause of <paramref name="e"/> in one line when it is such a failure, else null.</summary>
    public static string? Describe(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e switch
        {
            HttpRequestException or IOException => Messages(e),
            TimeoutException or OperationCanceledException => "no answer in time",
            _ => null,
        };
    }

    /// <summary>
    /// The message and those of the inner exceptions that add to it: "The SSL connection could not be established" says
    /// nothing of the certificate its inner exception names, while "Connection refused (host:port)" already holds its
    /// socket error's "Connection refused".
    /// </summary>
    private static string Messages(Exception e)
    {
        var parts = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
        {
            var message = current.Message.Replace(", see inner exception", string.Empty, StringComparison.Ordinal).Trim().TrimEnd('.');
            if (message.Length > 0 && !parts.Exists(part => part.Contains(message, StringComparison.Ordinal)))
            {
                parts.Add(message);
            }
        }

        return UserInfo().Replace(string.Join(": ", parts).ReplaceLineEndings(" "), "$1");
    }

    /// <summary>
    /// The user info of a URL in the text: a failed proxy tunnel quotes the proxy's address, which an HTTPS_PROXY may
    /// write with a user and password, and the cause goes to /readyz as well as to the log.
    /// </summary>
    [GeneratedRegex(@"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@']*@")]
    private static partial Regex UserInfo();
}
