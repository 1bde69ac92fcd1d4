namespace Passbox.Operator.Connectors.MySql;

/// <summary>
/// Validates an OceanBase (MySQL mode) login through OBProxy/ODP (<c>user@tenant#cluster</c>) or
/// straight to an OBServer (<c>user@tenant</c>). Same protocol as MySQL; errors are explained the
/// OceanBase way (an unknown tenant looks like a wrong password, an Oracle-mode tenant is refused).
/// </summary>
public sealed class OceanBaseConnector : IDatabaseConnector
{
    public DatabaseEngine Engine => DatabaseEngine.OceanBase;

    public Task<ValidationOutcome> ValidateAsync(DatabaseLogin login, CancellationToken ct) =>
        MySqlProtocol.ValidateAsync(login, Engine, ct);
}
