using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using MySqlConnector;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Bench;

/// <summary>
/// The least any operator has to do per credential: one login, one Secret create, one status merge patch, with the
/// same number of workers as the operator. It learns of each credential the moment its create returns (a perfect
/// watch), already knows the password (no read of the source Secret) and sends no events and no finalizer.
/// With <paramref name="operatorStatus"/> (<c>--floor-status=operator</c>) its one status patch carries what the
/// operator's first publish writes (three conditions, the revisions, login, endpoint, server version) instead of one
/// condition: the difference between the two floors is what the richer status costs, measured rather than estimated.
/// </summary>
public sealed class Floor(KubernetesApiClient api, MariaDb db, string ns, int workers, bool operatorStatus = false)
{
    private readonly Channel<(string Name, DbUser User)> queue = Channel.CreateUnbounded<(string, DbUser)>();

    public void Enqueue(string name, DbUser user) => queue.Writer.TryWrite((name, user));

    public Task RunAsync(CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(ct), ct)));

    private async Task WorkAsync(CancellationToken ct)
    {
        await foreach (var (name, user) in queue.Reader.ReadAllAsync(ct))
        {
            var serverVersion = await LoginAsync(user, ct);
            await api.PostAsync<JsonNode>(Operator.Runtime.Api.ResourceDescriptor.Secrets.CollectionPath(ns), GeneratedSecret(name, user), ct);
            var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var status = new JsonObject
            {
                ["status"] = operatorStatus ? OperatorShapedStatus(name, user, serverVersion, now) : MinimalStatus(name, now),
            };
            await api.PatchAsync<JsonNode>($"{Objects.Credentials.CollectionPath(ns)}/{name}/status", status, ct);
        }
    }

    private static JsonObject MinimalStatus(string name, string now) => new()
    {
        ["secretName"] = name,
        ["lastValidated"] = now,
        ["conditions"] = new JsonArray(new JsonObject
        {
            ["type"] = "Ready",
            ["status"] = "True",
            ["reason"] = "Validated",
            ["message"] = "floor",
            ["lastTransitionTime"] = now,
        }),
    };

    /// <summary>The fields and the sizes of the operator's status after a first publish (as <c>make demo</c> shows it).</summary>
    private JsonObject OperatorShapedStatus(string name, DbUser user, string serverVersion, string now)
    {
        var endpoint = $"{db.Host}:{db.Port}";
        var loggedIn = $"Logged in to {endpoint} as '{user.Name}'; server {serverVersion}.";
        var revision = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..16];
        JsonObject Condition(string type, string reason, string message) => new()
        {
            ["lastTransitionTime"] = now,
            ["message"] = message,
            ["observedGeneration"] = 1,
            ["reason"] = reason,
            ["status"] = "True",
            ["type"] = type,
        };
        return new JsonObject
        {
            ["attemptedRevision"] = revision,
            ["conditions"] = new JsonArray(
                Condition("Ready", "Validated", $"Secret {name} is ready: {loggedIn}"),
                Condition("SecretSynced", "Synced", $"Secret {name} matches the credential"),
                Condition("Validated", "Validated", loggedIn)),
            ["endpoint"] = endpoint,
            ["lastAttempted"] = now,
            ["lastValidated"] = now,
            ["login"] = user.Name,
            ["observedGeneration"] = 1,
            ["publishedRevision"] = revision,
            ["secretName"] = name,
            ["serverVersion"] = serverVersion,
            ["usedBy"] = new JsonObject { ["count"] = 0 },
        };
    }

    /// <summary>Logs in once; returns the server's version.</summary>
    private async Task<string> LoginAsync(DbUser user, CancellationToken ct)
    {
        var builder = new MySqlConnectionStringBuilder
        {
            Server = db.Host,
            Port = (uint)db.Port,
            UserID = user.Name,
            Password = user.Password,
            Pooling = false,
            SslMode = MySqlSslMode.None,
            AllowPublicKeyRetrieval = true,
        };
        await using var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        return connection.ServerVersion;
    }

    private JsonObject GeneratedSecret(string name, DbUser user) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = new JsonObject { ["app.kubernetes.io/managed-by"] = "passbox-floor" },
        },
        ["stringData"] = new JsonObject
        {
            ["engine"] = "MySQL",
            ["host"] = db.Host,
            ["port"] = db.Port.ToString(CultureInfo.InvariantCulture),
            ["username"] = user.Name,
            ["password"] = user.Password,
            ["uri"] = $"mysql://{user.Name}:{Uri.EscapeDataString(user.Password)}@{db.Host}:{db.Port}",
        },
    };
}
