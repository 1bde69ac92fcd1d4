using Passbox.CrdGen;

namespace Passbox.Operator.Tests.Crds;

public sealed class CrdDriftTests
{
    // Before the API types exist there are neither types nor files, and this passes. Files without
    // types (say a lost [CustomResource]) show up as stale files, so they fail it.
    [Fact]
    public void Checked_in_crds_match_the_api_types()
    {
        var crdDir = Path.Combine(RepoRoot(), "crds");

        var crds = CrdGenerator.ForOperator().Generate();

        var differences = CrdFiles.Differences(crdDir, crds);
        differences.Should().BeEmpty(
            "crds/ must be what the API types generate; run `make manifests` and commit the result. Out of date: {0}",
            string.Join("; ", differences));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Passbox.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Passbox.slnx above {AppContext.BaseDirectory}.");
    }
}
