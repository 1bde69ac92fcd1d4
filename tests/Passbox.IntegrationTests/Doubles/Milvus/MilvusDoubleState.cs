using System.Collections.Concurrent;

namespace Passbox.IntegrationTests.Doubles.Milvus;

/// <summary>
/// What the Milvus double knows: users and their passwords and roles, API keys, databases and the
/// login counters. Kept outside the server so it survives a stop and restart.
/// </summary>
public sealed class MilvusDoubleState
{
    public const string RootUser = "root";
    public const string DefaultRootPassword = "Milvus";
    public const string AdminRole = "admin";
    public const string PublicRole = "public";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string Password, HashSet<string> Roles)> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _apiKeys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _databases = new(StringComparer.Ordinal) { "default" };
    private readonly HashSet<string> _roles = new(StringComparer.Ordinal) { AdminRole, PublicRole };
    private readonly HashSet<string> _superUsers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _undeletable = new(StringComparer.Ordinal) { RootUser };
    private readonly ConcurrentDictionary<string, int> _loginAttempts = new(StringComparer.Ordinal);
    private int _apiKeyAttempts;
    private long _identifier;

    public MilvusDoubleState()
    {
        _users[RootUser] = (DefaultRootPassword, []);
    }

    /// <summary>Reported by Connect (<c>server_info.build_tags</c>) and GetVersion.</summary>
    public string Version { get; set; } = "v2.6.0";

    /// <summary>When true, Connect answers Unimplemented like servers before 2.2.9.</summary>
    public bool ConnectUnimplemented { get; set; }

    /// <summary>When false, Connect's server_info carries no build tags (the client must call GetVersion).</summary>
    public bool ReportBuildTags { get; set; } = true;

    public void AddUser(string name, string password, params string[] roles)
    {
        lock (_lock)
        {
            _users[name] = (password, new HashSet<string>(roles, StringComparer.Ordinal));
        }
    }

    public void SetPassword(string name, string password)
    {
        lock (_lock)
        {
            _users[name] = (password, _users.TryGetValue(name, out var user) ? user.Roles : []);
        }
    }

    /// <summary>
    /// Makes <paramref name="user"/> one of Milvus's configured superusers (<c>common.security.superUsers</c>, empty by
    /// default, so even root is not one): UpdateCredential then skips the old-password check for its calls.
    /// </summary>
    public void AddSuperUser(string user)
    {
        lock (_lock)
        {
            _superUsers.Add(user);
        }
    }

    /// <summary>A user the server refuses to delete (1401), like root everywhere and Zilliz Cloud's <c>db_admin</c>.</summary>
    public void MakeUndeletable(string user)
    {
        lock (_lock)
        {
            _undeletable.Add(user);
        }
    }

    /// <summary>The user's roles, in order; empty for an unknown user.</summary>
    public IReadOnlyList<string> RolesOf(string user)
    {
        lock (_lock)
        {
            return _users.TryGetValue(user, out var entry) ? [.. entry.Roles.Order(StringComparer.Ordinal)] : [];
        }
    }

    /// <summary>An API key that logs in as <paramref name="user"/> (as on Zilliz Cloud).</summary>
    public void AddApiKey(string apiKey, string user = RootUser)
    {
        lock (_lock)
        {
            _apiKeys[apiKey] = user;
        }
    }

    public void AddDatabase(string name)
    {
        lock (_lock)
        {
            _databases.Add(name);
        }
    }

    public void AddRole(string name)
    {
        lock (_lock)
        {
            _roles.Add(name);
        }
    }

    /// <summary>Authenticated or refused requests that named this user (every Milvus call authenticates).</summary>
    public int LoginAttempts(string user) => _loginAttempts.TryGetValue(user, out var count) ? count : 0;

    /// <summary>Requests authenticated (or refused) with an API key.</summary>
    public int ApiKeyLoginAttempts => Volatile.Read(ref _apiKeyAttempts);

    public void ResetCounters()
    {
        _loginAttempts.Clear();
        Volatile.Write(ref _apiKeyAttempts, 0);
    }

    public bool HasUser(string name)
    {
        lock (_lock)
        {
            return _users.ContainsKey(name);
        }
    }

    public string? PasswordOf(string name)
    {
        lock (_lock)
        {
            return _users.TryGetValue(name, out var user) ? user.Password : null;
        }
    }

    internal bool CheckPassword(string user, string password)
    {
        _loginAttempts.AddOrUpdate(user, 1, (_, count) => count + 1);
        lock (_lock)
        {
            return _users.TryGetValue(user, out var entry) && entry.Password == password;
        }
    }

    internal string? UserForApiKey(string apiKey)
    {
        Interlocked.Increment(ref _apiKeyAttempts);
        lock (_lock)
        {
            return _apiKeys.TryGetValue(apiKey, out var user) ? user : null;
        }
    }

    internal bool HasDatabase(string name)
    {
        lock (_lock)
        {
            return _databases.Contains(name);
        }
    }

    internal List<string> Databases()
    {
        lock (_lock)
        {
            return [.. _databases.Order(StringComparer.Ordinal)];
        }
    }

    internal bool IsAdmin(string user)
    {
        lock (_lock)
        {
            return user == RootUser || (_users.TryGetValue(user, out var entry) && entry.Roles.Contains(AdminRole));
        }
    }

    internal bool IsSuperUser(string user)
    {
        lock (_lock)
        {
            return _superUsers.Contains(user);
        }
    }

    internal bool IsUndeletable(string user)
    {
        lock (_lock)
        {
            return _undeletable.Contains(user);
        }
    }

    internal bool TryCreateUser(string name, string password)
    {
        lock (_lock)
        {
            return _users.TryAdd(name, (password, []));
        }
    }

    internal bool DeleteUser(string name)
    {
        lock (_lock)
        {
            return _users.Remove(name);
        }
    }

    internal List<string> UserNames()
    {
        lock (_lock)
        {
            return [.. _users.Keys.Order(StringComparer.Ordinal)];
        }
    }

    internal List<(string Name, List<string> Roles)> Users(string? only)
    {
        lock (_lock)
        {
            return [.. _users
                .Where(u => only is null || u.Key == only)
                .OrderBy(u => u.Key, StringComparer.Ordinal)
                .Select(u => (u.Key, u.Value.Roles.Order(StringComparer.Ordinal).ToList()))];
        }
    }

    internal bool RoleExists(string role)
    {
        lock (_lock)
        {
            return _roles.Contains(role);
        }
    }

    internal void SetRole(string user, string role, bool add)
    {
        lock (_lock)
        {
            if (_users.TryGetValue(user, out var entry))
            {
                if (add)
                {
                    entry.Roles.Add(role);
                }
                else
                {
                    entry.Roles.Remove(role);
                }
            }
        }
    }

    internal long NextIdentifier() => Interlocked.Increment(ref _identifier);
}
