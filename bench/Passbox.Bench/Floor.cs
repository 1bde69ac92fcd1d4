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
/// </summary>
public sealed class Floor(KubernetesApiClient api, MariaDb db, string ns, int workers)
{
    private readonly Channel<(string Name, DbUser User)> queue = Channel.CreateUnbounded<(string, DbUser)>();

    public void Enqueue(string name, DbUser user) => queue.Writer.TryWrite((name, user));

    public Task RunAsync(CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(ct), ct)));

    private async Task WorkAsync(CancellationToken ct)
    {
        await foreach (var (name, user) in queue.Reader.ReadAllAsync(ct))
        {
            await LoginAsync(user, ct);
            await api.PostAsync<JsonNode>(Operator.Runtime.Api.ResourceDescriptor.Secrets.CollectionPath(ns), GeneratedSecret(name, user), ct);
            var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            var status = new JsonObject
            {
                ["status"] = new JsonObject
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
                },
            };
            await api.PatchAsync<JsonNode>($"{Objects.Credentials.CollectionPath(ns)}/{name}/status", status, ct);
        }
    }

    private async Task LoginAsync(DbUser user, CancellationToken ct)
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
