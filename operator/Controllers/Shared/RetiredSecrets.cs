using System.Net;
using k8s.Autorest;
using Passbox.Operator.Publishing;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Secrets a credential generated under an earlier <c>spec.secret.name</c>. Each is deleted once nothing uses it; until
/// then it stays, because a Deployment still pointing at the old name could not start new Pods without it. They count
/// as the credential's users too, so the credential cannot be deleted (taking them along) while they are in use.
/// </summary>
public sealed class RetiredSecrets(IGeneratedSecretView view, UsageIndex usage, UsageScope scope, GeneratedSecretPublisher publisher)
{
    /// <summary>The names of the credential's Secrets other than <paramref name="currentName"/>.</summary>
    public IReadOnlyList<string> Names(string namespaceName, string ownerUid, string? currentName) =>
        [.. view.NamesOwnedBy(namespaceName, ownerUid).Where(name => name != currentName).Order(StringComparer.Ordinal)];

    /// <summary>Those who use any of the credential's Secrets other than <paramref name="currentName"/>.</summary>
    public IEnumerable<UsageUser> Users(string namespaceName, string ownerUid, string? currentName) =>
        Names(namespaceName, ownerUid, currentName).SelectMany(name => usage.UsersOfSecret(namespaceName, name));

    /// <summary>
    /// Deletes the credential's unused Secrets other than <paramref name="currentName"/> (<paramref name="previousName"/>
    /// included, in case the cache has not seen it yet) and returns those kept.
    /// </summary>
    public async Task<IReadOnlyList<KeptSecret>> RetireAsync(string namespaceName, string ownerUid, string currentName, string? previousName, CancellationToken ct)
    {
        var names = Names(namespaceName, ownerUid, currentName).ToList();
        if (previousName is not null && previousName != currentName && !names.Contains(previousName))
        {
            names.Add(previousName);
        }

        var kept = new List<KeptSecret>();
        foreach (var name in names)
        {
            if (!scope.IsComplete(namespaceName))
            {
                // The namespace's users are still being listed: no users yet means "not known", not "unused". A listing
                // that fails (RBAC) is said, so the credential is not looked at every second while it persists.
                kept.Add(new KeptSecret(name, null, UsersUnknownBecause: scope.Problem(namespaceName)?.ToString() ?? scope.Kinds.Current?.Problem));
                continue;
            }

            var users = usage.UsersOfSecret(namespaceName, name);
            if (users.Count > 0)
            {
                kept.Add(new KeptSecret(name, users));
                continue;
            }

            try
            {
                await publisher.DeleteAsync(ownerUid, namespaceName, name, ct);
            }
            catch (HttpOperationException e) when (SecretWriteRefusal.IsRefusal(e))
            {
                // No RBAC to delete, or a policy keeps it: the credential's new Secret is published all the same, and
                // the condition says why the old one is still there. The server's text is not quoted: it may quote
                // the old Secret, whose values the current ones no longer cover.
                kept.Add(new KeptSecret(name, [], e.Response.StatusCode, RefusedRead: e.Request?.Method == HttpMethod.Get));
            }
        }

        return kept;
    }
}

/// <summary>
/// A retired Secret that stays: its users, or null while they are not known yet (with why listing them fails, if it
/// does); or, unused, the status code with which the API server refused to delete it (or, when the cache did not hold
/// it, to read it first: <paramref name="RefusedRead"/>).
/// </summary>
public sealed record KeptSecret(string Name, IReadOnlyList<UsageUser>? Users, HttpStatusCode? DeletionRefused = null, string? UsersUnknownBecause = null, bool RefusedRead = false)
{
    /// <summary>What the message says about the retry of a refused deletion (<see cref="RefusedWriteBackoff"/>).</summary>
    public static readonly string RetriedDeletion = RefusedWriteBackoff.Schedule("an edit of the credential or of its source Secrets");

    /// <summary>For a condition message; names no more than two users.</summary>
    public string Describe() => Users switch
    {
        _ when DeletionRefused is { } code =>
            $"Secret {Name} (the previous name) is unused but the API server refused to {(RefusedRead ? "read it before deleting it" : "delete it")} (HTTP {(int)code}): " +
            $"let the operator {(RefusedRead ? "get and delete" : "delete")} secrets in this namespace, or ask what policy keeps it; " + RetriedDeletion,
        null when UsersUnknownBecause is { } why => $"Secret {Name} (the previous name) stays until the operator knows what uses it ({why})",
        null => $"Secret {Name} (the previous name) stays until the operator knows what uses it",
        { Count: 1 } => $"Secret {Name} (the previous name) stays while {Users[0].Kind} {Users[0].Name} uses it",
        _ => $"Secret {Name} (the previous name) stays while {Users[0].Kind} {Users[0].Name} and {Users.Count - 1} more use it",
    };
}
