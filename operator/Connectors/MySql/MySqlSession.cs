using MySqlConnector;

namespace Passbox.Operator.Connectors.MySql;

/// <summary>
/// The open, logged-in connection of one session, through which its work runs its statements. The session remembers
/// the statement running, so that one which runs out of time after the login is named in the outcome instead of reading
/// as a login the server never completed.
/// </summary>
internal sealed class MySqlSession(MySqlConnection connection)
{
    /// <summary>
    /// The statement running now, or the last one run, as sent: a password goes in a parameter and never shows here.
    /// </summary>
    public string? Statement { get; private set; }

    /// <summary>Runs <paramref name="sql"/>, with <paramref name="password"/> as <c>@password</c> when given.</summary>
    public async Task<int> ExecuteAsync(string sql, string? password, CancellationToken ct)
    {
        await using var command = Command(sql);
        if (password is not null)
        {
            command.Parameters.AddWithValue("@password", password);
        }

        return await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<object?> ScalarAsync(string sql, CancellationToken ct)
    {
        await using var command = Command(sql);
        return await command.ExecuteScalarAsync(ct);
    }

    private MySqlCommand Command(string sql)
    {
        Statement = sql;
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }
}
