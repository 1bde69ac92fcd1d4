namespace Passbox.CrdGen;

/// <summary>Writes generated CRDs to a folder, or compares them with what is there.</summary>
public static class CrdFiles
{
    /// <summary>Files this generator owns in the output folder: any CRD of its API group.</summary>
    public const string OwnedPattern = "*.passbox.dev.yaml";

    /// <summary>Writes changed files and deletes owned files that are no longer generated.</summary>
    /// <returns>The file names written or deleted.</returns>
    public static IReadOnlyList<string> Write(string directory, IReadOnlyList<GeneratedCrd> crds)
    {
        ArgumentNullException.ThrowIfNull(crds);
        Directory.CreateDirectory(directory);
        var changed = new List<string>();
        foreach (var crd in crds)
        {
            var path = Path.Combine(directory, crd.FileName);
            if (!File.Exists(path) || File.ReadAllText(path) != crd.Yaml)
            {
                File.WriteAllText(path, crd.Yaml);
                changed.Add(crd.FileName);
            }
        }

        foreach (var stale in StaleFiles(directory, crds))
        {
            File.Delete(Path.Combine(directory, stale));
            changed.Add(stale);
        }

        return changed;
    }

    /// <summary>One line per file that differs from what the types generate; empty when in sync.</summary>
    public static IReadOnlyList<string> Differences(string directory, IReadOnlyList<GeneratedCrd> crds)
    {
        ArgumentNullException.ThrowIfNull(crds);
        var differences = new List<string>();
        foreach (var crd in crds)
        {
            var path = Path.Combine(directory, crd.FileName);
            if (!File.Exists(path))
            {
                differences.Add($"{crd.FileName}: missing");
            }
            else if (File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal) != crd.Yaml)
            {
                differences.Add($"{crd.FileName}: differs from the API types{FirstDifference(File.ReadAllText(path), crd.Yaml)}");
            }
        }

        differences.AddRange(StaleFiles(directory, crds).Select(f => $"{f}: no API type generates it any more"));
        return differences;
    }

    private static List<string> StaleFiles(string directory, IReadOnlyList<GeneratedCrd> crds)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var generated = crds.Select(c => c.FileName).ToHashSet(StringComparer.Ordinal);
        return Directory.EnumerateFiles(directory, OwnedPattern)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(f => !generated.Contains(f))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static string FirstDifference(string actual, string expected)
    {
        var a = actual.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var e = expected.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, e.Length); i++)
        {
            var left = i < a.Length ? a[i] : "<end of file>";
            var right = i < e.Length ? e[i] : "<end of file>";
            if (left != right)
            {
                return $" (line {i + 1}: file has '{left.Trim()}', types give '{right.Trim()}')";
            }
        }

        return string.Empty;
    }
}
