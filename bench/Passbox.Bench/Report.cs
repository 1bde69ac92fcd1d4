using System.Globalization;
using System.Text;

namespace Passbox.Bench;

public static class Stats
{
    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);

    /// <summary>The middle of a few runs' ratios: the mean of the two middle ones when their number is even.</summary>
    public static double Middle(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : (sorted[(sorted.Length - 1) / 2] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>A CSV file in docs/benchmarks/ and its rows.</summary>
public sealed class Table(string name, params string[] columns)
{
    private readonly List<string[]> rows = [];

    public string Name { get; } = name;

    public IReadOnlyList<string> Columns { get; } = columns;

    public IReadOnlyList<string[]> Rows => rows;

    public void Add(params object[] values) => rows.Add(values.Select(Format).ToArray());

    public void WriteCsv(string dir)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(',', Columns));
        foreach (var row in rows)
        {
            text.AppendLine(string.Join(',', row));
        }

        File.WriteAllText(Path.Combine(dir, Name + ".csv"), text.ToString());
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", Columns) + " |");
        text.AppendLine("|" + string.Concat(Columns.Select(_ => "---|")));
        foreach (var row in rows)
        {
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        return text.ToString();
    }

    private static string Format(object value) => value switch
    {
        double d when double.IsNaN(d) => "",
        double d => d.ToString(Math.Abs(d) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Everything measured, as the CSV tables docs/benchmarks.md is made of.</summary>
public sealed class Results
{
    /// <summary>The target's answer per size over all repeats: on a saturated 2-core box one run's ratio swings by ±15%.</summary>
    public Table Verdict { get; } = new("convergence-verdict", "n", "runs", "median_vs_floor", "min_vs_floor", "max_vs_floor", "runs_within_1.5x", "median_cpu_vs_floor");

    private readonly List<(int N, double Wall, double Cpu)> pairs = [];

    public void AddPair(int n, double wallRatio, double cpuRatio) => pairs.Add((n, wallRatio, cpuRatio));

    public Table Convergence { get; } = new("convergence", "n", "run", "client", "all_ready_s", "p50_s", "p99_s", "all_ready_vs_floor", "p50_vs_floor", "p99_vs_floor");

    public Table Requests { get; } = new("convergence-requests", "n", "run", "client", "verb", "resource", "count", "per_credential", "server_ms_mean");

    public Table Cpu { get; } = new("convergence-cpu", "n", "run", "client", "wall_s", "operator_cpu_s", "apiserver_cpu_s", "etcd_cpu_s", "mariadb_cpu_s", "harness_cpu_s", "cores_busy");

    public Table Reconciles { get; } = new("convergence-reconciles", "n", "run", "reconciles", "per_credential", "mean_reconcile_ms", "logins", "logins_per_credential");

    /// <summary>Counts that do not depend on the machine's load: the operator's counters and its threads' context switches, per credential.</summary>
    public Table Counts { get; } = new("convergence-counts", "n", "run", "counter", "count", "per_credential");

    public Table IdleRequests { get; } = new("idle-requests", "credentials", "minutes", "verb", "resource", "count", "per_minute");

    public Table IdleLogins { get; } = new("idle-logins", "credentials", "interval", "minute", "logins_per_minute", "expected_per_minute");

    public Table Memory { get; } = new("memory", "state", "credentials", "rss_mb", "managed_heap_mb", "working_set_mb");

    public Table Unblock { get; } = new("unblock", "deletions", "p50_s", "p99_s", "max_s");

    public Table Startup { get; } = new("startup", "case", "credentials", "healthy_s", "first_reconcile_s", "all_reconciled_s", "writes", "lists", "logins");

    public Table Noise { get; } = new("noise", "objects", "count", "create_s", "per_second");

    public Table TraceAreas { get; } = new("trace-areas", "n", "area", "samples", "share_of_busy");

    public Table TraceExclusive { get; } = new("trace-exclusive", "n", "method", "samples", "share");

    public Table TraceInclusive { get; } = new("trace-inclusive", "n", "method", "samples", "share");

    private IEnumerable<Table> All => [Verdict, Convergence, Cpu, Reconciles, Requests, Counts, IdleRequests, IdleLogins, Memory, Unblock, Startup, Noise, TraceAreas, TraceExclusive, TraceInclusive];

    public void Write(string csvDir, string markdown, BenchOptions options)
    {
        foreach (var size in pairs.GroupBy(p => p.N))
        {
            var walls = size.Select(p => p.Wall).ToList();
            Verdict.Add(size.Key, walls.Count, Stats.Middle(walls), walls.Min(), walls.Max(), walls.Count(r => r <= 1.5), Stats.Middle(size.Select(p => p.Cpu).ToList()));
        }

        foreach (var table in All)
        {
            // A table this run did not fill (the CPU trace without --trace) leaves no file, nor one from an older run.
            if (table.Rows.Count > 0)
            {
                table.WriteCsv(csvDir);
            }
            else
            {
                File.Delete(Path.Combine(csvDir, table.Name + ".csv"));
            }
        }

        var notes = Path.Combine(csvDir, "notes.md");
        var text = new StringBuilder();
        text.AppendLine("# Benchmarks: what a credential costs, and how Passbox behaves with thousands of them");
        text.AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Generated by `make bench` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC ({Environment.ProcessorCount} cores, operator workers: {options.Workers}, repeats: {options.Repeats}, finalizer policy: {(options.FinalizerPolicy ? "installed" : "not installed")}, repeats above 1,000: {options.LargeRepeats}). ");
        var tables = Path.GetRelativePath(Path.GetDirectoryName(markdown)!, csvDir) + "/";
        text.AppendLine(CultureInfo.InvariantCulture, $"The tables are the CSV files in [`{tables}`]({tables}); the analysis first on this page is `{tables}notes.md`, written by hand from the runs it names.");
        text.AppendLine();
        if (File.Exists(notes))
        {
            text.AppendLine(File.ReadAllText(notes));
        }

        text.AppendLine("## Tables of the last run");
        text.AppendLine();
        foreach (var table in All.Where(t => t.Rows.Count > 0))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"### {table.Name}");
            text.AppendLine();
            text.AppendLine(table.ToMarkdown());
        }

        File.WriteAllText(markdown, text.ToString());
    }
}
