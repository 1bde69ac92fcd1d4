using System.Globalization;
using System.Text.Json.Nodes;

namespace Passbox.Bench;

/// <summary>One completed API request from the control plane's audit log.</summary>
public sealed record AuditEntry(string User, string Verb, string Resource, DateTimeOffset Received, double Seconds)
{
    public static readonly string[] WriteVerbs = ["create", "update", "patch", "delete", "deletecollection"];

    public bool IsWrite => WriteVerbs.Contains(Verb);
}

/// <summary>Reads the audit log from a byte offset taken earlier, so a window of the run can be cut out.</summary>
public static class Audit
{
    public const string OperatorUser = "passbox-operator";

    public static long Offset(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    public static List<AuditEntry> Read(string path, long from, long to = long.MaxValue, string user = OperatorUser)
    {
        var entries = new List<AuditEntry>();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(from, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        var position = from;
        while (reader.ReadLine() is { } line)
        {
            position += line.Length + 1;
            if (position > to)
            {
                break;
            }

            if (!line.Contains(user, StringComparison.Ordinal) || !line.Contains("\"ResponseComplete\"", StringComparison.Ordinal))
            {
                continue;
            }

            var node = JsonNode.Parse(line)!;
            if (node["user"]?["username"]?.GetValue<string>() != user)
            {
                continue;
            }

            var resource = node["objectRef"]?["resource"]?.GetValue<string>() ?? node["requestURI"]!.GetValue<string>();
            if (node["objectRef"]?["subresource"]?.GetValue<string>() is { } sub)
            {
                resource += "/" + sub;
            }

            var received = DateTimeOffset.Parse(node["requestReceivedTimestamp"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            var done = DateTimeOffset.Parse(node["stageTimestamp"]!.GetValue<string>(), CultureInfo.InvariantCulture);
            entries.Add(new AuditEntry(user, node["verb"]!.GetValue<string>(), resource, received, (done - received).TotalSeconds));
        }

        return entries;
    }
}
