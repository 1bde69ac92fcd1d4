using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Bench;

/// <summary>One suite per credential count: a fresh control plane, the floor, then the operator, then the extras.</summary>
public sealed class Suites(BenchOptions options, MariaDb db, IReadOnlyList<DbUser> users, string state, Results results)
{
    private const double ReadyTimeout = 1800;
    private bool measuredEmpty;

    public async Task RunAsync(int n, int run, bool extras)
    {
        Log($"suite n={n} run={run}: fresh control plane");
        var cp = await ControlPlane.StartAsync(Path.Combine(state, "cp"));
        try
        {
            var interval = n == options.ExtrasAt ? options.Interval : "30m";
            await WarmUpAsync(cp, n);
            var floor = await ConvergeAsync(cp, n, run, $"floor-{n}", "floor", interval, null, null);
            await Bulk.DeleteCollectionAsync(cp.Api, Objects.Credentials, $"floor-{n}");
            await Bulk.DeleteCollectionAsync(cp.Api, ResourceDescriptor.Secrets, $"floor-{n}");

            if (options.FinalizerPolicy)
            {
                // As the chart installs it on Kubernetes 1.36+; after the floor, whose credentials have no operator to finalize them.
                var probe = Objects.Credential("finalizer-probe", users[0], db, "1h");
                probe["metadata"]!["namespace"] = $"bench-{n}";
                await cp.InstallFinalizerPolicyAsync(probe);
            }

            var log = Path.Combine(state, $"operator-{n}-{run}.log");
            File.Delete(log);
            var op = OperatorProcess.Start(cp, log, options.Workers);
            try
            {
                await op.WaitHealthyAsync();
                if (!measuredEmpty)
                {
                    await Task.Delay(TimeSpan.FromSeconds(15));
                    await SampleMemoryAsync(op, "started, nothing to do", 0);
                    measuredEmpty = true;
                }

                var before = await op.ScrapeAsync();
                var switchesBefore = op.ContextSwitches();
                var logins = await db.ConnectionsAsync();
                var ns = $"bench-{n}";
                var alloc = options.AllocTrace && run == 1 ? AllocTrace.Start(op.Pid, Path.Combine(state, $"alloc-{n}.nettrace")) : null;
                var trace = options.Trace && n == options.Sizes.Max() ? CpuTrace.Start(op.Pid, Path.Combine(state, $"operator-{n}.nettrace")) : null;

                // One minute of samples is plenty and keeps the trace small enough to analyse in the harness.
                var traceStopped = trace is null ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(60)).ContinueWith(_ => trace.StopAsync(), TaskScheduler.Default).Unwrap();
                var result = await ConvergeAsync(cp, n, run, ns, "operator", interval, floor, op);
                if (trace is not null)
                {
                    await traceStopped;
                    try
                    {
                        AddProfile(results, n, CpuTrace.Analyse(trace.Path));
                    }
                    catch (Exception e) when (e is IOException or InvalidOperationException or FormatException)
                    {
                        // The other figures still count; the trace file stays for a look with other tools.
                        Log($"trace n={n}: could not analyse {trace.Path}: {e.Message}");
                    }
                }

                if (alloc is not null)
                {
                    await alloc.StopAsync();
                    alloc.Analyse(n, Path.Combine(state, $"allocations-{n}.txt"));
                    Log($"operator n={n}: allocations by type and method in {Path.Combine(state, $"allocations-{n}.txt")}");
                }

                var after = await op.ScrapeAsync();
                var switchesAfter = op.ContextSwitches();
                AddCounts(n, run, before, after, switchesBefore, switchesAfter);
                var loginCount = await db.ConnectionsAsync() - logins;
                var reconciles = after.Sum("passbox_reconcile_total", "ClusterCredential") - before.Sum("passbox_reconcile_total", "ClusterCredential");
                var seconds = after.Sum("passbox_reconcile_duration_seconds_sum", "ClusterCredential") - before.Sum("passbox_reconcile_duration_seconds_sum", "ClusterCredential");
                var count = after.Sum("passbox_reconcile_duration_seconds_count", "ClusterCredential") - before.Sum("passbox_reconcile_duration_seconds_count", "ClusterCredential");
                results.Reconciles.Add(n, run, reconciles, reconciles / n, count > 0 ? seconds / count * 1000 : double.NaN, loginCount, (double)loginCount / n);
                Log($"operator n={n}: all Ready in {result.Total:0.0} s ({result.Total / floor.Total:0.00}x floor), {reconciles} reconciles, {loginCount} logins");

                if (n >= 5000 || (extras && n == options.ExtrasAt))
                {
                    await Task.Delay(TimeSpan.FromSeconds(20));
                    await SampleMemoryAsync(op, "all Ready, idle", n);
                }

                if (n == options.ExtrasAt && extras)
                {
                    await IdleAsync(cp, op, n, interval);
                    op = await RestartAsync(cp, op, log, n, "restart, Ready credentials");
                    await NoiseAsync(cp);
                    await Task.Delay(TimeSpan.FromSeconds(30));
                    await SampleMemoryAsync(op, $"all Ready, after adding {options.NoiseSecrets} Secrets and {options.NoisePods} Pods (running operator)", n);
                    op = await RestartAsync(cp, op, log, n, $"restart, Ready credentials, {options.NoiseSecrets} Secrets and {options.NoisePods} Pods");
                    await Task.Delay(TimeSpan.FromSeconds(20));
                    await SampleMemoryAsync(op, $"all Ready, {options.NoiseSecrets} Secrets and {options.NoisePods} Pods (restarted operator)", n);
                    await UnblockAsync(cp, ns);
                }
            }
            finally
            {
                await op.StopAsync();
                op.Dispose();
            }
        }
        finally
        {
            await cp.StopAsync();
        }
    }

    /// <summary>
    /// What the operator did per credential while it converged, as counts: its counters (reconciles, watch events, status
    /// writes, checks), the runtime's (allocated bytes, collections, thread-pool work items, lock contention) and its
    /// threads' context switches by thread name. Unlike the seconds, most of these do not move with the machine's load;
    /// the voluntary switches do a little (a busy pool parks its workers less often).
    /// </summary>
    private void AddCounts(int n, int run, Metrics before, Metrics after,
        Dictionary<string, (long Voluntary, long Involuntary)> switchesBefore, Dictionary<string, (long Voluntary, long Involuntary)> switchesAfter)
    {
        foreach (var (thread, now) in switchesAfter.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            // Threads that started during the run count from zero; those that ended are lost (a pool worker retired).
            var was = switchesBefore.GetValueOrDefault(thread);
            results.Counts.Add(n, run, Quote($"voluntary_ctxt_switches{{thread='{thread}'}}"), now.Voluntary - was.Voluntary, (double)(now.Voluntary - was.Voluntary) / n);
            results.Counts.Add(n, run, Quote($"nonvoluntary_ctxt_switches{{thread='{thread}'}}"), now.Involuntary - was.Involuntary, (double)(now.Involuntary - was.Involuntary) / n);
        }

        string[] prefixes = ["passbox_", "dotnet_", "process_", "system_runtime_"];
        var previous = prefixes.SelectMany(before.Samples).ToDictionary();
        foreach (var (series, value) in prefixes.SelectMany(after.Samples).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            // Gauges too (the heap's size): their change says something, if not per credential.
            if (series.StartsWith("passbox_credential_ready", StringComparison.Ordinal) || series.Contains("_bucket", StringComparison.Ordinal))
            {
                continue;
            }

            var delta = value - previous.GetValueOrDefault(series);
            if (delta != 0)
            {
                results.Counts.Add(n, run, Quote(series), delta, delta / n);
            }
        }
    }

    /// <summary>Where the operator's managed CPU went while it converged: areas and the top methods of the sample trace.</summary>
    public static void AddProfile(Results results, int n, TraceProfile profile)
    {
        results.TraceAreas.Add(n, "(threads parked, waiting for work)", profile.IdleSamples, double.NaN);
        results.TraceAreas.Add(n, "(threads stopped for a garbage collection)", profile.GcWaitSamples, double.NaN);
        foreach (var (area, samples) in profile.Areas.OrderByDescending(p => p.Value))
        {
            results.TraceAreas.Add(n, area, samples, (double)samples / profile.Samples);
        }

        foreach (var (method, samples) in profile.Exclusive.OrderByDescending(p => p.Value).Take(25))
        {
            results.TraceExclusive.Add(n, Quote(method), samples, (double)samples / profile.Samples);
        }

        // Inclusive: what the operator was doing, leaving out the thread pool and async plumbing every stack passes through.
        string[] plumbing = ["System.Threading.", "System.Runtime.CompilerServices.", "?!", "System.Private.CoreLib"];
        foreach (var (method, samples) in profile.Inclusive.Where(p => !plumbing.Any(x => p.Key.StartsWith(x, StringComparison.Ordinal)))
            .OrderByDescending(p => p.Value).Take(40))
        {
            results.TraceInclusive.Add(n, Quote(method), samples, (double)samples / profile.Samples);
        }

        Log($"trace n={n}: {profile.Samples} busy samples, {profile.IdleSamples} idle, {profile.GcWaitSamples} stopped for GC");
    }

    /// <summary>Method names hold commas and pipes; keep the CSV and the Markdown table intact.</summary>
    private static string Quote(string method) => "\"" + method.Replace("\"", "'", StringComparison.Ordinal).Replace("|", "/", StringComparison.Ordinal) + "\"";

    private static void Log(string message) => Console.WriteLine($"[bench {Clock.Now,7:0.0}s] {message}");

    private DbUser UserFor(int i) => users[i % users.Count];

    private static string Name(int i) => $"c-{i:00000}";

    /// <summary>The floor speaks as the operator's user, so the audit log separates its requests from the harness's.</summary>
    private Floor FloorIn(ControlPlane cp, string ns) =>
        new(new KubernetesApiClient(new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(cp.OperatorKubeconfig))), db, ns, options.Workers, options.FloorWritesOperatorStatus);

    /// <summary>
    /// Sends a small batch through the floor before anything is measured. A fresh API server builds a custom resource's
    /// handler (its schema, its CEL rules) on the first requests, and the harness's floor client is compiled on its first
    /// calls: a cost paid once, by whichever client comes first. That used to be the floor: at N=100 its 100 creates
    /// took 2.1 s against 0.1 s for the same creates in the operator's run a minute later, so the floor looked four times
    /// slower than the operator. Warmed this way, both clients find the same warm server.
    /// The harness is a JIT build, and the runtime recompiles a hot method at its higher tier only after the method has
    /// been called 30 times, counted from the first 100 ms without new compilations: one batch left most of that
    /// recompilation to the measured floor (in a process's first suite the harness spent 2.7–2.85 s of CPU in the floor's
    /// N=1,000 run against 1.25–1.58 s in later suites). So the batch is sent <see cref="WarmUpRounds"/> times, with a
    /// pause after each that lets the counting start and the background compiler finish.
    /// </summary>
    private async Task WarmUpAsync(ControlPlane cp, int n)
    {
        for (var round = 1; round <= WarmUpRounds; round++)
        {
            await WarmUpRoundAsync(cp, $"warmup-{n}-{round}");
            await Task.Delay(WarmUpPause);
        }
    }

    private const int WarmUpRounds = 3;

    private static readonly TimeSpan WarmUpPause = TimeSpan.FromSeconds(1.5);

    private async Task WarmUpRoundAsync(ControlPlane cp, string ns)
    {
        const int count = 64;
        var floor = FloorIn(cp, ns);
        using var stop = new CancellationTokenSource();
        var floorTask = floor.RunAsync(stop.Token);
        await using (var tracker = await CredentialTracker.StartAsync(cp.Api, ns))
        {
            var started = Clock.Now;
            await Bulk.CreateAsync(cp.Api, ResourceDescriptor.Secrets, ns, users.Select(Objects.SourceSecret));
            var items = Enumerable.Range(0, count).Select(i => Objects.Credential(Name(i), UserFor(i), db, "30m"));
            await Bulk.CreateAsync(cp.Api, Objects.Credentials, ns, items,
                onCreated: name => floor.Enqueue(name, UserFor(int.Parse(name[2..], CultureInfo.InvariantCulture))));
            await tracker.WaitAsync(() => tracker.Ready.Count >= count, ReadyTimeout, $"{count} Ready credentials (warm-up)");
            Log($"warm-up {ns}: {count} credentials through the floor in {Clock.Now - started:0.0} s (not measured)");
        }

        await stop.CancelAsync();
        try
        {
            await floorTask;
        }
        catch (OperationCanceledException)
        {
            // Stopped once the batch was Ready.
        }

        await Bulk.DeleteCollectionAsync(cp.Api, Objects.Credentials, ns);
        await Bulk.DeleteCollectionAsync(cp.Api, ResourceDescriptor.Secrets, ns);
    }

    /// <summary>Applies N credentials at once and waits until all are Ready; the floor does the work when <paramref name="floorOf"/> is null.</summary>
    private async Task<ConvergenceResult> ConvergeAsync(ControlPlane cp, int n, int run, string ns, string client, string interval, ConvergenceResult? floorOf, OperatorProcess? op)
    {
        await Bulk.CreateAsync(cp.Api, ResourceDescriptor.Secrets, ns, users.Select(Objects.SourceSecret));
        await using var tracker = await CredentialTracker.StartAsync(cp.Api, ns);
        using var stop = new CancellationTokenSource();
        Task? floorTask = null;
        Floor? floor = null;
        if (floorOf is null)
        {
            floor = FloorIn(cp, ns);
            floorTask = floor.RunAsync(stop.Token);
        }

        var auditFrom = Audit.Offset(cp.AuditLog);
        int[] pids = [op?.Pid ?? 0, cp.ApiServerPid, cp.EtcdPid, db.Pid];
        var cpuBefore = pids.Select(p => p == 0 ? 0 : Cpu.Seconds(p)).Append(Cpu.Self()).ToArray();
        var harnessSwitches = Threads.ContextSwitches(Environment.ProcessId);
        var harnessAllocated = GC.GetTotalAllocatedBytes();
        var started = Clock.Now;
        var profile = StartApiServerProfile(cp, n, run, client);
        var items = Enumerable.Range(0, n).Select(i => Objects.Credential(Name(i), UserFor(i), db, interval));
        var created = await Bulk.CreateAsync(cp.Api, Objects.Credentials, ns, items,
            onCreated: floor is null ? null : name => floor.Enqueue(name, UserFor(int.Parse(name[2..], CultureInfo.InvariantCulture))));
        Log($"{client} n={n}: {n} credentials created in {Clock.Now - started:0.0} s");
        await tracker.WaitAsync(() => tracker.Ready.Count >= n, ReadyTimeout, $"{n} Ready credentials ({client})");
        var total = tracker.Ready.Values.Max() - started;
        var cpu = pids.Select(p => p == 0 ? 0 : Cpu.Seconds(p)).Append(Cpu.Self()).Zip(cpuBefore, (a, b) => a - b).ToArray();
        var wall = Clock.Now - started;

        // The floor's client lives in the harness: the harness's own wake-ups in the floor's run, less those in the
        // operator's (the tracker's watch and the creates are in both), are the floor client's.
        var harnessNow = Threads.ContextSwitches(Environment.ProcessId);
        var harnessVoluntary = harnessNow.Sum(p => p.Value.Voluntary) - harnessSwitches.Sum(p => p.Value.Voluntary);
        results.Counts.Add(n, run, Quote($"harness_voluntary_ctxt_switches{{client='{client}'}}"), harnessVoluntary, (double)harnessVoluntary / n);
        var allocated = GC.GetTotalAllocatedBytes() - harnessAllocated;
        results.Counts.Add(n, run, Quote($"harness_allocated_bytes{{client='{client}'}}"), allocated, (double)allocated / n);

        // The floor runs inside the harness, so its CPU is in the harness column.
        results.Cpu.Add(n, run, client, wall, op is null ? double.NaN : cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], cpu.Sum() / wall);
        var latencies = created.Select(p => tracker.Ready[p.Key] - p.Value).ToList();
        await stop.CancelAsync();
        if (floorTask is not null)
        {
            try
            {
                await floorTask;
            }
            catch (OperationCanceledException)
            {
                // Stopped once everything was Ready.
            }
        }

        await profile;
        var result = new ConvergenceResult(total, Stats.Median(latencies), Stats.Percentile(latencies, 99), cpu.Sum());
        if (floorOf is not null)
        {
            results.AddPair(n, result.Total / floorOf.Total, result.CpuSeconds / floorOf.CpuSeconds);
        }

        results.Convergence.Add(n, run, client, result.Total, result.P50, result.P99,
            floorOf is null ? 1.0 : result.Total / floorOf.Total,
            floorOf is null ? 1.0 : result.P50 / floorOf.P50,
            floorOf is null ? 1.0 : result.P99 / floorOf.P99);

        // Where the requests went: the operator's (or the floor's) requests in the window, by verb and resource.
        await Task.Delay(TimeSpan.FromSeconds(1));
        foreach (var group in Audit.Read(cp.AuditLog, auditFrom).Where(e => e.Verb != "watch").GroupBy(e => (e.Verb, e.Resource)).OrderByDescending(g => g.Count()))
        {
            results.Requests.Add(n, run, client, group.Key.Verb, group.Key.Resource, group.Count(), (double)group.Count() / n, group.Average(e => e.Seconds) * 1000);
        }

        return result;
    }

    /// <summary>
    /// The API server is the busiest process while credentials converge: a CPU profile of it (pprof) over the first
    /// seconds of the largest size, for the floor and the operator alike, shows what each request costs it.
    /// </summary>
    private async Task StartApiServerProfile(ControlPlane cp, int n, int run, string client)
    {
        if (options.ApiServerProfileSeconds <= 0 || n != options.Sizes.Max() || run != 1)
        {
            return;
        }

        var output = Path.Combine(state, $"apiserver-{client}-{n}");
        await Shell.RunAsync("bash", "hack/controlplane.sh", "cpu-profile", cp.Dir,
            options.ApiServerProfileSeconds.ToString(CultureInfo.InvariantCulture), output);
        Log($"{client} n={n}: API server CPU profile in {output}.pprof, top functions in {output}.txt");
    }

    private async Task SampleMemoryAsync(OperatorProcess op, string what, int credentials)
    {
        var rss = new List<double>();
        var heap = new List<double>();
        var workingSet = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var metrics = await op.ScrapeAsync();
            rss.Add(op.Rss() / 1048576.0);
            heap.Add(metrics.Sum("dotnet_total_memory_bytes") / 1048576.0);
            workingSet.Add(metrics.Sum("process_working_set_bytes") / 1048576.0);
            await Task.Delay(1000);
        }

        results.Memory.Add(what, credentials, Stats.Median(rss), Stats.Median(heap), Stats.Median(workingSet));
        Log($"memory ({what}): RSS {Stats.Median(rss):0} MB, managed heap {Stats.Median(heap):0} MB");
    }

    /// <summary>Nothing changes for a few minutes: count the operator's requests and the server's logins.</summary>
    private async Task IdleAsync(ControlPlane cp, OperatorProcess op, int n, string interval)
    {
        Log($"idle: settling, then {options.IdleMinutes} minutes of nothing");
        await Task.Delay(TimeSpan.FromSeconds(30));
        var from = Audit.Offset(cp.AuditLog);
        var start = Clock.Now;
        var lists = (await op.ScrapeAsync()).Sum("passbox_informer_lists_total");
        var connections = new List<(double At, long Count)> { (start, await db.ConnectionsAsync()) };
        while (Clock.Now - start < options.IdleMinutes * 60)
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            connections.Add((Clock.Now, await db.ConnectionsAsync()));
        }

        var minutes = (Clock.Now - start) / 60;
        var to = Audit.Offset(cp.AuditLog);
        var entries = Audit.Read(cp.AuditLog, from, to);
        foreach (var group in entries.GroupBy(e => (e.Verb, e.Resource)).OrderByDescending(g => g.Count()))
        {
            results.IdleRequests.Add(n, minutes, group.Key.Verb, group.Key.Resource, group.Count(), group.Count() / minutes);
        }

        if (entries.Count == 0)
        {
            results.IdleRequests.Add(n, minutes, "(none)", "", 0, 0.0);
        }

        var intervalSeconds = GoSeconds(interval);
        var expected = n * 60 / (intervalSeconds * 1.05);
        for (var minute = 0; minute < (int)Math.Floor(minutes); minute++)
        {
            // A rate over the samples inside the minute: the samples are not exactly 5 s apart on a busy machine.
            var first = connections.First(c => c.At >= start + (minute * 60));
            var last = connections.Last(c => c.At <= start + ((minute + 1) * 60));
            var perMinute = last.At > first.At ? (last.Count - first.Count) / (last.At - first.At) * 60 : double.NaN;
            results.IdleLogins.Add(n, interval, minute + 1, perMinute, expected);
        }

        var relists = (await op.ScrapeAsync()).Sum("passbox_informer_lists_total") - lists;
        Log($"idle: {entries.Count} requests ({entries.Count(e => e.IsWrite)} writes, {relists} informer lists), {connections[^1].Count - connections[0].Count} logins in {minutes:0.0} min");
    }

    private static double GoSeconds(string interval) => interval.EndsWith('m')
        ? double.Parse(interval[..^1], CultureInfo.InvariantCulture) * 60
        : double.Parse(interval.TrimEnd('s'), CultureInfo.InvariantCulture);

    /// <summary>Stops the operator and starts it again: time to the first reconcile and until every credential was reconciled once.</summary>
    private async Task<OperatorProcess> RestartAsync(ControlPlane cp, OperatorProcess op, string log, int n, string what)
    {
        await op.StopAsync();
        op.Dispose();
        var from = Audit.Offset(cp.AuditLog);
        var logins = await db.ConnectionsAsync();
        var next = OperatorProcess.Start(cp, log, options.Workers);
        double? healthy = null, first = null, all = null;
        var deadline = Clock.Now + 600;
        while (all is null && Clock.Now < deadline)
        {
            try
            {
                var metrics = await next.ScrapeAsync();
                healthy ??= Clock.Now - next.StartedAt;
                var reconciles = metrics.Sum("passbox_reconcile_total", "ClusterCredential");
                if (reconciles >= 1)
                {
                    first ??= Clock.Now - next.StartedAt;
                }

                if (reconciles >= n)
                {
                    all = Clock.Now - next.StartedAt;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(25);
        }

        await Task.Delay(TimeSpan.FromSeconds(5));
        var entries = Audit.Read(cp.AuditLog, from);
        var writes = entries.Count(e => e.IsWrite);
        var lists = entries.Count(e => e.Verb == "list");
        var loginCount = await db.ConnectionsAsync() - logins;
        results.Startup.Add(what, n, healthy ?? double.NaN, first ?? double.NaN, all ?? double.NaN, writes, lists, loginCount);
        Log($"startup ({what}): first reconcile {first:0.00} s, all {all:0.00} s, {writes} writes, {loginCount} logins");
        return next;
    }

    /// <summary>Unrelated Secrets and Pods, as a busy cluster has them, created with parallel requests.</summary>
    private async Task NoiseAsync(ControlPlane cp)
    {
        const int perNamespace = 1000;
        var started = Clock.Now;
        var secretTasks = Enumerable.Range(0, (options.NoiseSecrets + perNamespace - 1) / perNamespace).Select(ns =>
            Bulk.CreateAsync(cp.Api, ResourceDescriptor.Secrets, $"noise-{ns:00}",
                Enumerable.Range(0, Math.Min(perNamespace, options.NoiseSecrets - (ns * perNamespace))).Select(i => Objects.NoiseSecret($"s-{i:0000}")), 8));
        await Task.WhenAll(secretTasks);
        var secretsDone = Clock.Now;
        results.Noise.Add("Secret (2 KB)", options.NoiseSecrets, secretsDone - started, options.NoiseSecrets / (secretsDone - started));
        var podTasks = Enumerable.Range(0, (options.NoisePods + perNamespace - 1) / perNamespace).Select(ns =>
            Bulk.CreateAsync(cp.Api, ResourceDescriptor.Pods, $"noise-{ns:00}",
                Enumerable.Range(0, Math.Min(perNamespace, options.NoisePods - (ns * perNamespace))).Select(i => Objects.Pod($"p-{i:0000}", $"s-{i:0000}", "tls.key")), 8));
        await Task.WhenAll(podTasks);
        results.Noise.Add("Pod (one Secret referenced)", options.NoisePods, Clock.Now - secretsDone, options.NoisePods / (Clock.Now - secretsDone));
        Log($"noise: {options.NoiseSecrets} Secrets and {options.NoisePods} Pods in {Clock.Now - started:0} s");
    }

    /// <summary>Credentials in use are deleted (and blocked); then their last user goes: time until each credential is gone.</summary>
    private async Task UnblockAsync(ControlPlane cp, string ns)
    {
        var count = options.Deletions;
        await using var tracker = await CredentialTracker.StartAsync(cp.Api, ns);
        await Bulk.CreateAsync(cp.Api, ResourceDescriptor.Pods, ns, Enumerable.Range(0, count).Select(i => Objects.Pod($"user-{i:000}", Name(i), "password")));
        await tracker.WaitAsync(() => tracker.UsedBy.Count >= count, 600, "usage to show in the status");
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (i, _) => await Bulk.DeleteAsync(cp.Api, Objects.Credentials, ns, Name(i)));
        await tracker.WaitAsync(() => tracker.Blocked.Count >= count, 600, "deletions to be blocked");
        Log($"unblock: {count} credentials in use and blocked; removing their Pods one every 100 ms");

        var removed = new ConcurrentDictionary<string, double>();
        var deletions = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var index = i;
            deletions.Add(Task.Run(async () =>
            {
                await Bulk.DeleteAsync(cp.Api, ResourceDescriptor.Pods, ns, $"user-{index:000}");
                removed[Name(index)] = Clock.Now;
            }));
            await Task.Delay(100);
        }

        await Task.WhenAll(deletions);
        await tracker.WaitAsync(() => tracker.Deleted.Count >= count, 600, "blocked credentials to go");
        var latencies = removed.Select(p => tracker.Deleted[p.Key] - p.Value).ToList();
        results.Unblock.Add(count, Stats.Median(latencies), Stats.Percentile(latencies, 99), latencies.Max());
        Log($"unblock: p50 {Stats.Median(latencies) * 1000:0} ms, p99 {Stats.Percentile(latencies, 99) * 1000:0} ms");
    }
}

/// <summary>One client's convergence: seconds until all Ready, per-credential p50/p99, and the CPU all processes spent.</summary>
public sealed record ConvergenceResult(double Total, double P50, double P99, double CpuSeconds);
