using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The ClusterCredentials of one engine's provisioning tests: logins to one endpoint without TLS, checked hourly, and
/// users managed through an admin credential whose password a Secret holds. Only the privileges differ by engine
/// (grants on MySQL, roles on Milvus).
/// </summary>
public sealed class ManagedUserSpecs(ClusterTestKit kit, ClusterEngine engine, string host, int port, Action<UserProvisioning> privileges)
{
    public const string DefaultAdmin = "root-admin";

    /// <summary>A plain login as <paramref name="username"/>; <paramref name="change"/> adds what a test needs.</summary>
    public ClusterCredential Credential(string name, string username, Action<ClusterCredentialSpec>? change = null)
    {
        var credential = new ClusterCredential
        {
            Metadata = new() { Name = name },
            Spec = new ClusterCredentialSpec
            {
                Engine = engine,
                Endpoint = new DatabaseEndpoint { Host = host, Port = port, Tls = new TlsSettings { Mode = TlsMode.Disabled } },
                Username = username,
                Validation = new ValidationSettings { Interval = "1h", Timeout = "3s" },
            },
        };
        change?.Invoke(credential.Spec);
        return credential;
    }

    /// <summary>A user the operator manages through <paramref name="admin"/>, with the engine's privileges.</summary>
    public ClusterCredential Managed(string name, string username, string admin = DefaultAdmin, DeletionPolicy? policy = null) =>
        Credential(name, username, spec =>
        {
            spec.Provisioning = new UserProvisioning { AdminCredentialRef = new LocalCredentialReference { Name = admin }, DeletionPolicy = policy };
            privileges(spec.Provisioning);
        });

    /// <summary>The admin credential <paramref name="name"/>: a login as <paramref name="user"/> with a password from Secret <c>name-input</c>.</summary>
    public async Task CreateAdminAsync(string name, string user, string password)
    {
        await kit.CreateSecretAsync($"{name}-input", new Dictionary<string, string> { ["password"] = password });
        await kit.CreateAsync(Credential(name, user, s => s.PasswordSecretRef = new SecretKeyReference { Name = $"{name}-input", Key = "password" }));
    }

    /// <summary>The message of the credential's Validated condition, which names what went wrong.</summary>
    public static string ValidatedMessage(ClusterCredential credential) =>
        credential.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Message;

    /// <summary>The reason of the credential's Validated condition, or null before its first check.</summary>
    public static string? ValidatedReason(ClusterCredential credential) =>
        credential.Status?.Conditions?.Find(c => c.Type == ConditionTypes.Validated)?.Reason;
}
