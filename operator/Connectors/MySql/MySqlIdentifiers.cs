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

    /// <summary>
    /// <c>`db`</c> for a database name of letters, digits and <c>_</c>: the name as it is, for statements that take it
    /// literally. A database-level GRANT or REVOKE reads <c>_</c> as a wildcard on MySQL and MariaDB; use
    /// <see cref="GrantDatabase"/> there.
    /// </summary>
    public static string Database(string database)
    {
        if (database is null || !DatabaseName().IsMatch(database))
        {
            throw new ArgumentException($"'{database}' is not a database name Passbox grants on (letters, digits and _, at most 64).", nameof(database));
        }

        // Privileges on these would reach other users' password hashes or the server's own settings. A name that
        // matches one when its _ is read as the one-character wildcard (my_ql, s_s) is refused too: escaped it would be
        // harmless on MySQL and MariaDB, but a server that reads it as a pattern (an older Passbox's unescaped grant,
        // or a server whose escaping differs) would hand out the system schema.
        if (SystemSchemas.Contains(database))
        {
            throw new ArgumentException($"'{database}' is a system schema; Passbox does not grant on it.", nameof(database));
        }

        if (SystemSchemas.FirstOrDefault(schema => MatchesAsPattern(database, schema)) is { } reached)
        {
            throw new ArgumentException(
                $"'{database}' matches the system schema '{reached}' when its _ is read as the wildcard database-level grants treat it as; Passbox does not grant on it.",
                nameof(database));
        }

        return QuoteIdentifier(database);
    }

    /// <summary>
    /// The database of a database-level <c>GRANT … ON db.*</c> or <c>REVOKE</c>. MySQL and MariaDB read <c>_</c> and
    /// <c>%</c> there as wildcards, even inside back quotes: <c>`app_1`.*</c> also covers <c>appX1</c>. With
    /// <paramref name="escapeWildcards"/> each <c>_</c> is written <c>\_</c>, so the grant is for that one database.
    /// OceanBase keeps the name as written (no escaping).
    /// </summary>
    public static string GrantDatabase(string database, bool escapeWildcards)
    {
        var quoted = Database(database);
        return escapeWildcards ? quoted.Replace("_", "\\_", StringComparison.Ordinal) : quoted;
    }

    /// <summary>Whether <paramref name="pattern"/>, with <c>_</c> as any one character, matches <paramref name="name"/> (without case).</summary>
    private static bool MatchesAsPattern(string pattern, string name) =>
        pattern.Length == name.Length
        && pattern.Zip(name).All(p => p.First == '_' || char.ToLowerInvariant(p.First) == char.ToLowerInvariant(p.Second));

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
