using System.Text.Json;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// Reads the local control plane's audit log (JSON lines, level Metadata) to count what a user did:
/// proof that idle operators make no writes and that a conflict was retried.
/// </summary>
public sealed class ControlPlaneAuditLog(string path)
{
    private static readonly HashSet<string> WriteVerbs = ["create", "update", "patch", "delete", "deletecollection"];

    public string Path { get; } = path;

    /// <summary>A point to count from: requests received after it are those of what a test does next.</summary>
    public AuditMark Mark() => new(File.Exists(Path) ? new FileInfo(Path).Length : 0, DateTimeOffset.UtcNow);

    /// <summary>
    /// Waits until the requests since <paramref name="mark"/> satisfy <paramref name="complete"/> and returns them; the server
    /// writes a request's entry after answering it, so a test that just got its answer may not find the entry yet.
    /// </summary>
    public async Task<IReadOnlyList<AuditEntry>> WaitForAsync(AuditMark mark, string? user, string? @namespace, Func<IReadOnlyList<AuditEntry>, bool> complete)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var entries = Since(mark, user, @namespace);
            if (complete(entries) || DateTime.UtcNow > deadline)
            {
                return entries;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Completed requests received since <paramref name="mark"/>, optionally narrowed to a user and namespace.</summary>
    public IReadOnlyList<AuditEntry> Since(AuditMark mark, string? user = null, string? @namespace = null)
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(mark.Offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var entries = new List<AuditEntry>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || !line.EndsWith('}'))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var stage = root.GetProperty("stage").GetString();
            var verb = root.GetProperty("verb").GetString() ?? "";

            // Watches are long: count them when they start; everything else when it completes.
            var counted = verb == "watch" ? stage == "ResponseStarted" : stage == "ResponseComplete";
            if (!counted)
            {
                continue;
            }

            // The server writes a request's last stage after its response (and its watch event) went out: a request
            // made before the mark can land in the file after it. Its receive time says which side it belongs to.
            if (root.TryGetProperty("requestReceivedTimestamp", out var received) && received.GetDateTimeOffset() < mark.At)
            {
                continue;
            }

            var username = root.GetProperty("user").GetProperty("username").GetString();
            var objectRef = root.TryGetProperty("objectRef", out var reference) ? reference : default;
            var ns = objectRef.ValueKind == JsonValueKind.Object && objectRef.TryGetProperty("namespace", out var n) ? n.GetString() : null;
            var resource = objectRef.ValueKind == JsonValueKind.Object && objectRef.TryGetProperty("resource", out var r) ? r.GetString() : null;
            var subresource = objectRef.ValueKind == JsonValueKind.Object && objectRef.TryGetProperty("subresource", out var s) ? s.GetString() : null;
            var apiGroup = objectRef.ValueKind == JsonValueKind.Object && objectRef.TryGetProperty("apiGroup", out var g) ? g.GetString() : null;
            var code = root.TryGetProperty("responseStatus", out var status) && status.TryGetProperty("code", out var c) ? c.GetInt32() : 0;
            if ((user is null || username == user) && (@namespace is null || ns == @namespace))
            {
                entries.Add(new AuditEntry(verb, username ?? "", ns, resource, subresource, code, root.GetProperty("requestURI").GetString() ?? "", apiGroup ?? ""));
            }
        }

        return entries;
    }

    public static bool IsWrite(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return WriteVerbs.Contains(entry.Verb);
    }
}

/// <summary>Where a test started counting: an offset in the log file and the time.</summary>
public readonly record struct AuditMark(long Offset, DateTimeOffset At);

/// <summary>One request; <paramref name="ApiGroup"/> is empty for the core group and for non-resource URLs.</summary>
public sealed record AuditEntry(string Verb, string User, string? Namespace, string? Resource, string? Subresource, int Code, string RequestUri, string ApiGroup = "");
