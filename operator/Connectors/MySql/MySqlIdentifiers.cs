using System.Text.RegularExpressions;

namespace Passbox.Operator.Connectors.MySql;

/// <summary>
/// Builds the parts of user-management statements that cannot be parameters: account names, database names and
/// privilege keywords. Each is checked against a strict pattern or list first, then quoted, so quoting is a second
/// line of defence rather than the only one. Passwords are never put together here: they go in as parameters.
/// </summary>
public static partial class MySqlIdentifiers
{
    /// <summary>Database-level privileges Passbox grants; anything else is refused.</summary>
    public static IReadOnlySet<string> Privileges { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE VIEW",
        "SHOW VIEW", "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE ROUTINE", "ALTER ROUTINE",
        "TRIGGER", "EVENT", "ALL PRIVILEGES",
    };

    /// <summary><c>'user'@'%'</c>: the account from any host, the form Passbox creates.</summary>
    public static string Account(string user)
    {
        if (!UserNames.IsValid(user))
        {
            throw new ArgumentException($"'{user}' is not a user name Passbox manages ({UserNames.Pattern}).", nameof(user));
        }

        return $"{QuoteString(user)}@'%'";
    }

    private static readonly HashSet<string> SystemSchemas = new(StringComparer.OrdinalIgnoreCase)
    {
        "mysql", "sys", "information_schema", "performance_schema", "oceanbase",
    };

    /// <summary><c>`db`</c> for a database name of letters, digits and <c>_</c>.</summary>
    public static string Database(string database)
    {
        if (database is null || !DatabaseName().IsMatch(database))
        {
            throw new ArgumentException($"'{database}' is not a database name Passbox grants on (letters, digits and _, at most 64).", nameof(database));
        }

        // Privileges on these would reach other users' password hashes or the server's own settings.
        if (SystemSchemas.Contains(database))
        {
            throw new ArgumentException($"'{database}' is a system schema; Passbox does not grant on it.", nameof(database));
        }

        return QuoteIdentifier(database);
    }

    /// <summary>A comma-separated privilege list, each checked against <see cref="Privileges"/>.</summary>
    public static string PrivilegeList(IEnumerable<string> privileges)
    {
        ArgumentNullException.ThrowIfNull(privileges);
        var list = privileges.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("No privileges to grant.", nameof(privileges));
        }

        var unknown = list.FirstOrDefault(p => !Privileges.Contains(p));
        if (unknown is not null)
        {
            throw new ArgumentException($"'{unknown}' is not a privilege Passbox grants.", nameof(privileges));
        }

        return string.Join(", ", list);
    }

    /// <summary>
    /// A string literal: <c>'</c> doubled, <c>\</c> doubled. Doubling the backslash is right in the default SQL mode;
    /// under NO_BACKSLASH_ESCAPES it would change the value, which is why only validated names (no backslash) reach it.
    /// </summary>
    public static string QuoteString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>A back-quoted identifier with back quotes doubled.</summary>
    public static string QuoteIdentifier(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return "`" + value.Replace("`", "``", StringComparison.Ordinal) + "`";
    }

    [GeneratedRegex(@"^[A-Za-z0-9_]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex DatabaseName();
}
