namespace Passbox.Operator.Connectors.MySql;

/// <summary>Validates a MySQL or MariaDB login: one unpooled connection and <c>SELECT VERSION()</c>.</summary>
public sealed class MySqlDatabaseConnector : IDatabaseConnector
{
    public DatabaseEngine Engine => DatabaseEngine.MySQL;

    public Task<ValidationOutcome> ValidateAsync(DatabaseLogin login, CancellationToken ct) =>
        MySqlProtocol.ValidateAsync(login, Engine, ct);
}
