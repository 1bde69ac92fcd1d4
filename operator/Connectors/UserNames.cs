using System.Text.RegularExpressions;

namespace Passbox.Operator.Connectors;

/// <summary>
/// The user names Passbox manages: a letter, then letters, digits or <c>_</c>, at most 32 characters. That is what
/// Milvus accepts and what every MySQL and OceanBase version stores, and it leaves nothing to escape in SQL. The
/// schema checks the same pattern; the admin classes check it again before a name goes near a statement.
/// </summary>
public static partial class UserNames
{
    public const string Pattern = "^[A-Za-z][A-Za-z0-9_]{0,31}$";

    public static bool IsValid(string? name) => name is not null && Valid().IsMatch(name);

    // .NET's $ also matches before a final newline; \z does not.
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]{0,31}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Valid();
}
