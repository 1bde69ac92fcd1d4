namespace Passbox.CrdGen;

/// <summary>
/// <c>Passbox.CrdGen &lt;dir&gt;</c> writes the CRDs into dir (deleting stale ones);
/// <c>Passbox.CrdGen --check &lt;dir&gt;</c> exits 1 and lists the files that differ.
/// </summary>
internal static class Program
{
    private const string Usage = "usage: Passbox.CrdGen <outdir> | --check <dir>";

    public static int Main(string[] args)
    {
        var check = args.Length == 2 && args[0] == "--check";
        if (!(check || (args.Length == 1 && !args[0].StartsWith('-'))))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var directory = args[^1];
        IReadOnlyList<GeneratedCrd> crds;
        try
        {
            crds = CrdGenerator.ForOperator().Generate();
        }
        catch (CrdGenerationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }

        if (check)
        {
            var differences = CrdFiles.Differences(directory, crds);
            foreach (var difference in differences)
            {
                Console.Error.WriteLine(Path.Combine(directory, difference));
            }

            if (differences.Count > 0)
            {
                Console.Error.WriteLine("CRDs are out of date with the API types: run `make manifests` and commit the result.");
                return 1;
            }

            Console.WriteLine($"{crds.Count} CRD(s) in {directory} match the API types.");
            return 0;
        }

        foreach (var file in CrdFiles.Write(directory, crds))
        {
            Console.WriteLine(Path.Combine(directory, file));
        }

        Console.WriteLine($"{crds.Count} CRD(s) generated in {directory}.");
        return 0;
    }
}
