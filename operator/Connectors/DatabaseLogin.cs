using System.Globalization;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Everything a connector needs for one login. Holds the password or API key, so
/// <see cref="ToString"/> never prints them: the record may end up in logs and exception messages.
/// </summary>
public sealed record DatabaseLogin
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    /// <summary>
    /// The user name as the server sees it: <c>user</c> for MySQL and Milvus, the OceanBase form from
    /// <see cref="OceanBaseLogin.Format"/> (<c>user@tenant#cluster</c> or <c>user@tenant</c>).
    /// Empty for a Milvus API key.
    /// </summary>
    public required string LoginName { get; init; }

    public string? Password { get; init; }

    /// <summary>Milvus / Zilliz Cloud API key, used instead of <see cref="LoginName"/> and <see cref="Password"/>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Database to select at login; null for the server's default.</summary>
    public string? Database { get; init; }

    public TlsSettings Tls { get; init; } = TlsSettings.Disabled;

    /// <summary>Upper bound for the whole validation: connect, TLS, login and the version query.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The values that must never appear in messages, logs or exceptions.</summary>
    internal IEnumerable<string> Secrets
    {
        get
        {
            if (!string.IsNullOrEmpty(Password))
            {
                yield return Password;
            }

            if (!string.IsNullOrEmpty(ApiKey))
            {
                yield return ApiKey;
            }
        }
    }

    /// <summary><c>host:port</c>, with brackets around an IPv6 address.</summary>
    public string Endpoint =>
        Host.Contains(':', StringComparison.Ordinal) && !Host.StartsWith('[')
            ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
            : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    public override string ToString()
    {
        var credential = ApiKey is not null ? "api key: ***" : Password is not null ? "password: ***" : "no password";
        var database = Database is null ? string.Empty : $", database {Database}";
        return $"'{LoginName}' at {Endpoint} ({credential}{database}, {Tls}, timeout {Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s)";
    }
}
