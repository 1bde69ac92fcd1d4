using System.Globalization;
using Passbox.Bench;

// make bench: convergence against its floor, idle cost, memory, unblock latency and startup; see docs/benchmarks.md.
if (args is ["analyse-trace", var tracePath, var size, var traceOut])
{
    // Re-analyse a trace taken earlier (make bench keeps it in .cache/bench) into CSV tables.
    var traced = new Results();
    Suites.AddProfile(traced, int.Parse(size, CultureInfo.InvariantCulture), CpuTrace.Analyse(tracePath));
    Directory.CreateDirectory(traceOut);
    foreach (var table in new[] { traced.TraceAreas, traced.TraceExclusive, traced.TraceInclusive })
    {
        table.WriteCsv(traceOut);
        Console.WriteLine(table.ToMarkdown());
    }

    return;
}

var options = BenchOptions.Parse(args);
Paths.Repo = Path.GetFullPath(options.Repo);
var state = Path.Combine(Paths.Repo, ".cache", "bench");
// A labelled run (a repeat, or a run after a change) keeps its tables beside the main ones instead of replacing them.
var outDir = options.Label is { } label ? Path.Combine(Paths.Repo, "docs", "benchmarks", label) : Path.Combine(Paths.Repo, "docs", "benchmarks");
var markdown = options.Label is null ? Path.Combine(Paths.Repo, "docs", "benchmarks.md") : Path.Combine(outDir, "README.md");
Directory.CreateDirectory(state);
Directory.CreateDirectory(outDir);

var results = new Results();
await using (var db = await MariaDb.StartAsync(Path.Combine(state, "mariadb")))
{
    var users = new List<DbUser>();
    for (var i = 0; i < 4; i++)
    {
        var user = new DbUser($"bench_u{i}", $"pw-{Guid.NewGuid():N}");
        await db.CreateUserAsync(user.Name, user.Password);
        users.Add(user);
    }

    var suites = new Suites(options, db, users, state, results);
    foreach (var n in options.Sizes)
    {
        // Sizes above 1,000 take minutes per run; they repeat as often as --large-repeats says (each run a floor and
        // an operator side by side on a fresh control plane).
        var repeats = n <= 1000 ? options.Repeats : options.LargeRepeats;
        for (var run = 1; run <= repeats; run++)
        {
            await suites.RunAsync(n, run, extras: run == repeats);
        }
    }
}

results.Write(outDir, markdown, options);
foreach (var profile in Directory.GetFiles(state, "apiserver-*.txt").Concat(Directory.GetFiles(state, "allocations-*.txt")))
{
    // The API server's CPU profiles of this run (--apiserver-profile) as top-function lists, and the operator's
    // allocations (--alloc-trace), beside the tables.
    File.Copy(profile, Path.Combine(outDir, Path.GetFileName(profile)), overwrite: true);
    File.Delete(profile);
}

Console.WriteLine($"bench: wrote {outDir} and {markdown}");

namespace Passbox.Bench
{
    public sealed record BenchOptions(int[] Sizes, int Repeats, int LargeRepeats, int Workers, double IdleMinutes, int NoiseSecrets, int NoisePods, int Deletions, int ExtrasAt, string Interval, string Repo, bool Trace, string? Label, int ApiServerProfileSeconds, bool FinalizerPolicy, bool FloorWritesOperatorStatus, bool AllocTrace)
    {
        public static BenchOptions Parse(string[] args)
        {
            var map = args.Select(a => a.TrimStart('-').Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "true");
            string Get(string key, string fallback) => map.TryGetValue(key, out var v) ? v : Environment.GetEnvironmentVariable("BENCH_" + key.ToUpperInvariant().Replace('-', '_')) ?? fallback;
            int Int(string key, int fallback) => int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
            return new BenchOptions(
                Get("sizes", "100,1000,5000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
                Int("repeats", 2),
                Int("large-repeats", 3),
                Int("workers", 4),
                double.Parse(Get("idle-minutes", "3"), CultureInfo.InvariantCulture),
                Int("noise-secrets", 30_000),
                Int("noise-pods", 10_000),
                Int("deletions", 200),
                Int("extras-at", 1000),
                Get("interval", "1m"),
                Get("repo", Directory.GetCurrentDirectory()),
                Get("trace", "false") == "true",
                Get("label", "") is { Length: > 0 } label ? label : null,
                Int("apiserver-profile", 0),
                Get("finalizer-policy", "true") == "true",
                Get("floor-status", "minimal") switch
                {
                    "minimal" => false,
                    "operator" => true,
                    var other => throw new ArgumentException($"--floor-status={other}: give minimal (the default) or operator"),
                },
                Get("alloc-trace", "false") == "true");
        }
    }
}
