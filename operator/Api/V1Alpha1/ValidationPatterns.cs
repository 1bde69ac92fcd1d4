namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>Regular expressions shared by the schemas of both kinds.</summary>
public static class ValidationPatterns
{
    /// <summary>A DNS-1123 subdomain, as Kubernetes requires for Secret names.</summary>
    public const string DnsSubdomain = @"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

    /// <summary>What Kubernetes accepts as a key of a Secret's data.</summary>
    public const string SecretKey = @"^[-._a-zA-Z0-9]+$";

    /// <summary>
    /// A Go-style duration such as <c>90s</c>, <c>10m</c> or <c>1h30m</c>; <c>0</c> is allowed. Without backslashes
    /// (<c>[.]</c>), so that <see cref="WhenDuration"/> can put it in a CEL string literal as it is.
    /// </summary>
    public const string Duration = "^(0|([0-9]+([.][0-9]+)?(ms|s|m|h))+)$";

    /// <summary>
    /// Start of a CEL rule that reads its field with <c>duration(self)</c>. The API server runs a field's CEL rules even
    /// when its pattern has already refused the value, and <c>duration()</c> of such a value adds a second, confusing
    /// cause ("type conversion error from 'string' to 'google.protobuf.Duration'"): a value that is no duration passes
    /// the rule and is left to the pattern's message.
    /// </summary>
    public const string WhenDuration = "!self.matches('" + Duration + "') || ";

    // The two below are RE2 for CEL's matches(), written without backslashes so that they can sit in a CEL string
    // literal as they are ("[[]" is a literal "[", a "]" outside a class is literal).

    /// <summary>
    /// A label or annotation key, as Kubernetes checks it: an optional DNS-subdomain prefix and <c>/</c>, then a name of
    /// at most 63 letters, digits, <c>-</c>, <c>_</c> and <c>.</c> that starts and ends with a letter or digit. The
    /// prefix's own limit of 253 characters is checked beside it.
    /// </summary>
    public const string QualifiedName =
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

    /// <summary>A label value: empty, or at most 63 letters, digits, <c>-</c>, <c>_</c> and <c>.</c> that start and end with a letter or digit.</summary>
    public const string LabelValue = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";

    /// <summary>A server URL (scheme optional) with user info before its host, such as <c>https://user:token@host</c>.</summary>
    public const string ServerUserInfo = "^(https?://)?[^/?#]*@";

    /// <summary>
    /// A server URL (scheme optional) whose host is a DNS name, an IPv4 address or a bracketed IPv6 address, with an
    /// optional port from 1 to 65535 and an optional path, query or fragment: what the operator can parse as a URL.
    /// </summary>
    public const string ServerHostAndPort =
        "^(https?://)?([[][0-9A-Fa-f:.]+]|[A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?([.][A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?)*)" +
        "(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?#].*)?$";
}
