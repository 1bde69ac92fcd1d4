namespace Passbox.Operator.Connectors;

/// <summary>Picks the connector for an engine.</summary>
public sealed class DatabaseConnectors
{
    private readonly Dictionary<DatabaseEngine, IDatabaseConnector> _connectors;

    public DatabaseConnectors(IEnumerable<IDatabaseConnector> connectors, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(connectors);
        Shared = new SharedLogins(this, time ?? TimeProvider.System);
        _connectors = [];
        foreach (var connector in connectors)
        {
            if (!_connectors.TryAdd(connector.Engine, connector))
            {
                throw new ArgumentException($"Two connectors for {connector.Engine}.", nameof(connectors));
            }
        }
    }

    /// <summary>Logins of several credentials that are identical made as one, and a refusal reused for a few seconds.</summary>
    public SharedLogins Shared { get; }

    /// <summary>The connectors this operator ships: MySQL, OceanBase and Milvus.</summary>
    public static DatabaseConnectors CreateDefault() =>
        new([new MySql.MySqlDatabaseConnector(), new MySql.OceanBaseConnector(), new Milvus.MilvusConnector()]);

    public IDatabaseConnector For(DatabaseEngine engine) =>
        _connectors.TryGetValue(engine, out var connector)
            ? connector
            : throw new NotSupportedException($"No connector for engine {engine}.");

    /// <summary>Validates with the engine's connector.</summary>
    public Task<ValidationOutcome> ValidateAsync(DatabaseEngine engine, DatabaseLogin login, CancellationToken ct) =>
        For(engine).ValidateAsync(login, ct);
}
