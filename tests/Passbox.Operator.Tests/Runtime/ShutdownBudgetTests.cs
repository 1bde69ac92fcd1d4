using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Hosting;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Events;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// A graceful stop (SIGTERM) fits in the pod's grace period, and a reconcile stuck in a call that honours no token uses
/// only its share: the lease is still handed back and the last Events written before the host's shutdown timeout.
/// </summary>
public sealed partial class ShutdownBudgetTests
{
    [Theory]
    [InlineData("charts/passbox/values.yaml")]
    [InlineData("config/manager/manager.yaml")]
    public void The_pods_grace_period_leaves_the_process_time_to_exit_after_the_hosts_shutdown_timeout(string deployment)
    {
        var yaml = File.ReadAllText(Path.Combine(RepositoryRoot(), deployment));

        var grace = GracePeriod().Matches(yaml).Should().ContainSingle().Subject;
        TimeSpan.FromSeconds(int.Parse(grace.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Should().Be(ShutdownBudget.DefaultPodGracePeriod, "the default budget is measured against the grace period the pods get by default");
        if (deployment.StartsWith("config/", StringComparison.Ordinal))
        {
            // kustomize has no values: the operator is told the pods' grace period beside it.
            GracePeriodFlag().Matches(yaml).Should().ContainSingle().Which.Groups[1].Value.Should().Be(grace.Groups[1].Value);
        }

        // Equal, the host gave up on its services at the moment the kubelet sent SIGKILL.
        var budget = new ShutdownBudget();
        budget.HostTimeout.Should().BeLessThanOrEqualTo(ShutdownBudget.DefaultPodGracePeriod - ShutdownBudget.ExitMargin);
        budget.Invoking(b => b.Validated()).Should().NotThrow();
    }

    [Fact]
    public void A_longer_grace_period_goes_to_the_drain_and_the_stop_still_ends_before_SIGKILL()
    {
        var budget = ShutdownBudget.For(TimeSpan.FromSeconds(120));

        budget.Drain.Should().Be(TimeSpan.FromSeconds(105), "slow reconciles get what the pods were given beyond the default");
        budget.HostTimeout.Should().Be(TimeSpan.FromSeconds(115), "the process still stops 5 s before SIGKILL");
        budget.Invoking(b => b.Validated()).Should().NotThrow();
        ShutdownBudget.For(ShutdownBudget.DefaultPodGracePeriod).Should().Be(new ShutdownBudget(), "the default grace period keeps the default budget");
        FluentActions.Invoking(() => ShutdownBudget.For(TimeSpan.FromSeconds(20))).Should().Throw<ArgumentException>().WithMessage("*at least 30 s*");
    }

    [Theory]
    [InlineData(null, 25)]
    [InlineData("120", 115)]
    public void The_operators_grace_period_flag_sets_the_hosts_shutdown_timeout(string? flag, int hostTimeoutSeconds)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(flag is null ? [] : [new("termination-grace-period-seconds", flag)])
            .Build();
        var services = new ServiceCollection();

        services.AddPassbox(OperatorSettings.From(configuration));

        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout.Should().Be(TimeSpan.FromSeconds(hostTimeoutSeconds));
    }

    [Theory]
    [InlineData("10")]
    [InlineData("30s")]
    public void A_grace_period_flag_the_operator_cannot_fit_its_stop_into_is_refused_at_start(string flag)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("termination-grace-period-seconds", flag)]).Build();

        FluentActions.Invoking(() => OperatorSettings.From(configuration))
            .Should().Throw<ArgumentException>().WithMessage($"--termination-grace-period-seconds={flag} *at least 30*");
    }

    [Fact]
    public async Task A_shutdown_timeout_set_for_the_dotnet_host_is_not_taken_and_a_warning_names_the_setting_that_gives_reconciles_more_time()
    {
        var logs = new RecordingLoggers();

        await using var app = PassboxOperator.Build(
            ["--urls=http://127.0.0.1:0", "--leader-elect=false", "--shutdownTimeoutSeconds=90"], builder => builder.Logging.AddProvider(logs));

        app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout
            .Should().Be(TimeSpan.FromSeconds(25), "a longer stop would be cut by the kubelet's SIGKILL after the pods' 30 s");
        logs.Messages.Should().ContainSingle(m => m.Contains("shutdownTimeoutSeconds=90", StringComparison.Ordinal), "a setting dropped without a word looks taken")
            .Which.Should().Contain("is not used").And.Contain("terminationGracePeriodSeconds");
    }

    [Fact]
    public async Task A_controller_registered_with_the_runtime_lets_reconciles_use_a_drain_longer_than_its_own_default()
    {
        var time = new FakeTimeProvider();
        var widgets = new FakeInformer<Widget>(ResourceDescriptor.For<Widget>());
        var reconciler = new SlowReconciler();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddPassboxRuntime(options => options with { Shutdown = ShutdownBudget.For(TimeSpan.FromSeconds(120)) });
        services.AddKeyedSingleton<IInformer<Widget>>("widgets", widgets);
        services.AddSingleton(reconciler);
        services.AddController<Widget, SlowReconciler>("widgets", "widgets");
        await using var provider = services.BuildServiceProvider();
        var controller = provider.GetServices<IController>().Single();
        using var stop = new CancellationTokenSource();
        var run = controller.RunAsync(stop.Token);
        widgets.Apply(Widget.Create("w1", "1"));
        await reconciler.Started.WaitAsync(TimeSpan.FromSeconds(10));

        // SIGTERM; the drain's timer is set on the fake clock once the workers have seen the stop.
        await stop.CancelAsync();
        await Task.Delay(300);
        time.Advance(TimeSpan.FromSeconds(60));
        await Task.Delay(300);
        reconciler.Cancelled.Should().BeFalse("the pods were given 120 s: the reconcile may go on past the controllers' default drain of 15 s");

        time.Advance(TimeSpan.FromSeconds(45));
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        reconciler.Cancelled.Should().BeTrue("at the end of the budget's drain (105 s) it is cancelled");
    }

    [Fact]
    public void A_budget_that_leaves_no_time_to_exit_before_SIGKILL_is_refused()
    {
        var tooLong = new ShutdownBudget { Drain = TimeSpan.FromSeconds(25) };

        tooLong.Invoking(b => b.Validated()).Should().Throw<ArgumentException>().WithMessage("*grace period (30 s)*");
    }

    [Fact]
    public async Task A_reconcile_that_ignores_cancellation_keeps_the_lease_from_being_released_and_still_lets_the_events_be_written_before_the_hosts_timeout()
    {
        // The default budget's steps, scaled down so that the test takes seconds; the lease's periods are as short as in
        // the runner's tests, since the library's elector waits on the real clock.
        var budget = new ShutdownBudget
        {
            Drain = TimeSpan.FromSeconds(1),
            CancelledWork = TimeSpan.FromMilliseconds(500),
            LeaseRelease = TimeSpan.FromSeconds(2),
            EventFlush = TimeSpan.FromSeconds(3),
        };
        var eventsWritten = 0;

        // An API server slow to take Events: the last ones are still queued when the controllers stop, and are written
        // only once the stuck reconcile has been cancelled (in the flush's turn).
        using var endOfTest = new CancellationTokenSource();
        var controller = new StuckController(endOfTest.Token);
        var lease = new FakeLease(async (request, cancellationToken) =>
        {
            if (request.Method != HttpMethod.Post || !request.Path.EndsWith("/events", StringComparison.Ordinal))
            {
                return FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound");
            }

            await controller.Aborted.WaitAsync(cancellationToken);
            Interlocked.Increment(ref eventsWritten);
            return FakeApiServer.Json(HttpStatusCode.Created, request.Body!);
        });

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, lease.Server));
        builder.Services.AddPassboxRuntime(options => options with
        {
            LeaderElection = new LeaderElectionOptions
            {
                LeaseNamespace = "ns",
                LeaseName = "passbox-test",
                Identity = "leader",
                LeaseDuration = TimeSpan.FromSeconds(3),
                RenewDeadline = TimeSpan.FromSeconds(1),
                RetryPeriod = TimeSpan.FromMilliseconds(100),
            },
            Shutdown = budget,
        });
        builder.Services.AddSingleton<IController>(sp => controller.RecordingWith(sp.GetRequiredService<IEventRecorder>()));
        using var host = builder.Build();
        try
        {
            host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout.Should().Be(budget.HostTimeout);
            await host.StartAsync();
            await controller.Started.WaitAsync(TimeSpan.FromSeconds(10));

            // SIGTERM, with the host's own shutdown timeout.
            var stopwatch = Stopwatch.StartNew();
            await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
            stopwatch.Stop();

            lease.Releases.Should().Be(0, "the reconcile left behind could still write: the standby must wait until this process is gone");
            lease.Holder.Should().Be("leader", "the lease is left to expire");
            Volatile.Read(ref eventsWritten).Should().Be(1, "the reconcile's last Event is written in the flush");
            stopwatch.Elapsed.Should().BeLessThan(budget.HostTimeout, "the host did not have to give up on the lease release or the flush");
            controller.CutShort.Should().BeTrue("the reconcile still running at the end of the drain was cancelled before it was left behind");
        }
        finally
        {
            await endOfTest.CancelAsync();
        }
    }

    [Fact]
    public async Task A_reconcile_that_ends_when_cancelled_lets_the_lease_be_released_so_that_the_standby_takes_over_at_once()
    {
        var lease = new FakeLease();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, lease.Server));
        builder.Services.AddPassboxRuntime(options => options with
        {
            LeaderElection = new LeaderElectionOptions
            {
                LeaseNamespace = "ns",
                LeaseName = "passbox-test",
                Identity = "leader",
                LeaseDuration = TimeSpan.FromSeconds(3),
                RenewDeadline = TimeSpan.FromSeconds(1),
                RetryPeriod = TimeSpan.FromMilliseconds(100),
            },
            Shutdown = new ShutdownBudget { Drain = TimeSpan.FromMilliseconds(500), CancelledWork = TimeSpan.FromSeconds(2), LeaseRelease = TimeSpan.FromSeconds(2), EventFlush = TimeSpan.FromSeconds(1) },
        });
        var controller = new CancellableController();
        builder.Services.AddSingleton<IController>(controller);
        using var host = builder.Build();
        await host.StartAsync();
        await controller.Started.WaitAsync(TimeSpan.FromSeconds(10));

        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));

        controller.Ended.Should().BeTrue("its cancellation ended it");
        lease.Releases.Should().Be(1, "nothing of this process can write any more: the standby may take the lease at once");
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Passbox.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Passbox.slnx) not found");
    }

    [GeneratedRegex(@"(?m)^\s*terminationGracePeriodSeconds:\s*(\d+)\s*$")]
    private static partial Regex GracePeriod();

    [GeneratedRegex(@"(?m)^\s*-\s*--termination-grace-period-seconds=(\d+)\s*$")]
    private static partial Regex GracePeriodFlag();

    /// <summary>A reconcile slower than the default drain (a long ALTER USER) that ends when it is cancelled.</summary>
    private sealed class SlowReconciler : IReconciler<Widget>
    {
        private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool cancelled;

        public Task Started => started.Task;

        public bool Cancelled => cancelled;

        public async Task<ReconcileResult> ReconcileAsync(Widget entity, CancellationToken cancellationToken)
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            cancelled = cancellationToken.IsCancellationRequested;
            return ReconcileResult.Done;
        }
    }

    /// <summary>A controller whose reconcile outlasts the drain but ends as soon as it is cancelled, as reconciles should.</summary>
    private sealed class CancellableController : IController
    {
        private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool ended;

        public string Name => "cancellable";

        public IReadOnlyList<IInformer> Informers { get; } = [];

        public Task Started => started.Task;

        public bool Ended => ended;

        public async Task RunAsync(CancellationToken cancellationToken, CancellationToken abortToken = default)
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, abortToken).ContinueWith(_ => { }, TaskScheduler.Default);
            ended = true;
        }
    }

    /// <summary>
    /// A controller whose last reconcile, once the stop is asked for, records an Event and then waits in a call that
    /// honours neither the stop nor its cancellation: only the end of the test (of the process) ends it.
    /// </summary>
    private sealed class StuckController(CancellationToken endOfTest) : IController
    {
        private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private IEventRecorder? recorder;
        private volatile bool cutShort;

        public string Name => "stuck";

        public IReadOnlyList<IInformer> Informers { get; } = [];

        public Task Started => started.Task;

        /// <summary>Completes when its abort token fires while it is stuck.</summary>
        public Task Aborted => aborted.Task;

        /// <summary>Whether its abort token fired while it was stuck.</summary>
        public bool CutShort => cutShort;

        public StuckController RecordingWith(IEventRecorder eventRecorder)
        {
            recorder = eventRecorder;
            return this;
        }

        public async Task RunAsync(CancellationToken cancellationToken, CancellationToken abortToken = default)
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            using var abortRegistration = abortToken.Register(() =>
            {
                cutShort = true;
                aborted.TrySetResult();
            });
            await recorder!.RecordAsync(Widget.Create("w1", "1"), EventType.Warning, "CheckFailed", "the database did not answer");
            await Task.Delay(Timeout.Infinite, endOfTest).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
