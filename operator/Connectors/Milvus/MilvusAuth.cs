using System.Text;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>The gRPC metadata Milvus reads to authenticate and pick a database.</summary>
public static class MilvusAuth
{
    public const string AuthorizationHeader = "authorization";
    public const string DatabaseHeader = "dbname";

    /// <summary>Standard padded Base64 of <c>user:password</c>.</summary>
    public static string ForUser(string user, string password)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        return Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
    }

    /// <summary>Standard padded Base64 of the bare API key (Zilliz Cloud).</summary>
    public static string ForApiKey(string apiKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(apiKey));
    }

    /// <summary>Passwords in credential requests are Base64 of the UTF-8 password.</summary>
    public static string EncodePassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(password));
    }

    /// <summary>The authorization value for a login: API key when given, else user and password.</summary>
    public static string For(DatabaseLogin login)
    {
        ArgumentNullException.ThrowIfNull(login);
        return !string.IsNullOrEmpty(login.ApiKey)
            ? ForApiKey(login.ApiKey)
            : ForUser(login.LoginName, login.Password ?? string.Empty);
    }
}
