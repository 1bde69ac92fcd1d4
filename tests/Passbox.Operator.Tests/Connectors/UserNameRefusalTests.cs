using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;
using Passbox.Operator.Connectors.MySql;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>
/// The admin classes refuse a protected administrator or a name outside the managed pattern before the administrator
/// logs in: nothing listens at the administrator's address, so a refusal that had reached a server would be Unreachable.
/// </summary>
public sealed class UserNameRefusalTests
{
    private static readonly DatabaseLogin Admin = new()
    {
        Host = "127.0.0.1",
        Port = 1,
        LoginName = "admin_login",
        Password = "Adm1n-password-never-printed",
        Tls = TlsSettings.Disabled,
        Timeout = TimeSpan.FromSeconds(1),
    };

    public static TheoryData<string, string> Protected => new()
    {
        { "MySQL", "root" },
        { "MySQL", "Root" },
        { "OceanBase", "proxyro" },
        { "Milvus", "root" },
        { "Milvus", "DB_ADMIN" },
    };

    public static TheoryData<string, string> Invalid => new()
    {
        { "MySQL", "1user" },
        { "MySQL", "app-user" },
        { "OceanBase", "app_user\n" },
        { "Milvus", "app user" },
        { "Milvus", new string('a', 33) },
    };

    [Theory]
    [MemberData(nameof(Protected))]
    public async Task A_protected_administrator_is_neither_ensured_nor_dropped(string engine, string userName)
    {
        var admin = Of(engine);
        var message = $"'{userName}' is an administrator Passbox never creates, resets or drops";

        var ensure = await admin.EnsureUserAsync(Admin, User(userName), CancellationToken.None);
        var drop = await admin.DropUserAsync(Admin, userName, CancellationToken.None);

        ensure.Should().BeEquivalentTo(new { Succeeded = false, Reason = ValidationReasons.ProtectedUser, Message = message });
        drop.Should().BeEquivalentTo(new { Succeeded = false, Reason = ValidationReasons.ProtectedUser, Message = message });
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task A_name_outside_the_managed_pattern_is_neither_ensured_nor_dropped(string engine, string userName)
    {
        var admin = Of(engine);
        var what = engine == "Milvus" ? "a Milvus user name" : "a user name Passbox manages";
        var message = $"'{userName}' is not {what}: a letter, then letters, digits or _, at most 32";

        var ensure = await admin.EnsureUserAsync(Admin, User(userName), CancellationToken.None);
        var drop = await admin.DropUserAsync(Admin, userName, CancellationToken.None);

        ensure.Should().BeEquivalentTo(new { Succeeded = false, Reason = ValidationReasons.InvalidSpec, Message = message });
        drop.Should().BeEquivalentTo(new { Succeeded = false, Reason = ValidationReasons.InvalidSpec, Message = message });
    }

    private static IDatabaseUserAdmin Of(string engine) => engine switch
    {
        "Milvus" => new MilvusUserAdmin(),
        "OceanBase" => new MySqlUserAdmin(DatabaseEngine.OceanBase),
        _ => new MySqlUserAdmin(DatabaseEngine.MySQL),
    };

    private static ManagedUser User(string name) => new() { Name = name, Password = "N3w-password-never-printed", MayAdopt = true };
}
