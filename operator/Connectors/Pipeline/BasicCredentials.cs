using System.Diagnostics.CodeAnalysis;
using System.Net.Http.Headers;
using System.Text;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>User name and password for HTTP Basic authentication, with the bare-token convention.</summary>
internal sealed class BasicCredentials
{
    /// <summary>
    /// The user name sent with a bare token. GitHub, Gitea/Forgejo and GitLab (personal, project
    /// and group access tokens) take any non-empty user name with a token as the password, and
    /// GitHub documents <c>x-access-token</c> for app tokens, so that name is used. Servers that need
    /// a specific one (GitLab OAuth tokens: <c>oauth2</c>; Bitbucket: <c>x-token-auth</c>; Docker
    /// Hub: the account name) need the UsernamePassword type with that name.
    /// </summary>
    public const string BareTokenUsername = "x-access-token";

    private readonly string? source;

    private BasicCredentials(string username, string password, bool bareToken, string? source)
    {
        Username = username;
        Password = password;
        IsBareToken = bareToken;
        this.source = source;
    }

    public string Username { get; }

    public string Password { get; }

    public bool IsBareToken { get; }

    /// <summary>Null when the request has no secret.</summary>
    public static BasicCredentials? From(PipelineProbeRequest request)
    {
        if (string.IsNullOrEmpty(request.Secret))
        {
            return null;
        }

        return string.IsNullOrEmpty(request.Username)
            ? new BasicCredentials(BareTokenUsername, request.Secret, bareToken: true, request.SecretSource)
            : new BasicCredentials(request.Username, request.Secret, bareToken: false, request.SecretSource);
    }

    /// <summary>
    /// The login a probe that authenticates with Basic (<paramref name="probe"/>, e.g. "GitHTTP") checks, or why the
    /// request has none it can check: a kubeconfig, or no password or token.
    /// </summary>
    public static bool TryFrom(PipelineProbeRequest request, string probe,
        [NotNullWhen(true)] out BasicCredentials? credentials, [NotNullWhen(false)] out ValidationOutcome? refusal)
    {
        credentials = null;
        refusal = null;
        if (!string.IsNullOrEmpty(request.Kubeconfig))
        {
            refusal = ValidationOutcome.Failure(ValidationReasons.Unsupported, $"the {probe} probe checks a user name and password or a token, not a kubeconfig");
            return false;
        }

        credentials = From(request);
        if (credentials is null)
        {
            refusal = ValidationOutcome.Failure(ValidationReasons.Unsupported, $"the {probe} probe needs a password or token to check");
            return false;
        }

        return true;
    }

    public AuthenticationHeaderValue Header() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{Password}")));

    /// <summary>How the login is named in messages: the user name, or that a token was used.</summary>
    public string Describe() => IsBareToken ? "the token" : $"user {Username}";

    /// <summary>
    /// What to add to a refused login when the password or token starts or ends with white space: it is sent as part of
    /// it, and is almost always a copying accident (<c>kubectl create secret --from-file</c> keeps a file's last line
    /// break), which a plain "refused" would leave the user searching for on the server. Empty otherwise; never the value.
    /// </summary>
    public string RefusalHint()
    {
        if (Password.Length == 0 || !(char.IsWhiteSpace(Password[0]) || char.IsWhiteSpace(Password[^1])))
        {
            return string.Empty;
        }

        var what = IsBareToken ? "token" : "password";
        var where = source is null ? string.Empty : $" in {source}";
        var edge = Password[^1] is '\n' or '\r'
            ? "ends with a line break (kubectl create secret --from-file keeps a file's last one)"
            : "starts or ends with white space";
        return $"; the {what}{where} {edge}, which is sent as part of it: store it without";
    }

    public override string ToString() => $"BasicCredentials {{ Username = {Username}, Password = (redacted) }}";
}
