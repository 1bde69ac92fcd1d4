using System.Net;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>The runtime's hosting as the operator wires it, leader election off, with an informer and a controller of the test's.</summary>
public sealed class ControllerManagerTests
{
    [Fact]
    public async Task An_informer_that_stops_unasked_stops_the_process_so_that_it_restarts()
    {
        var exitCodeBefore = Environment.ExitCode;
        var builder = Host.CreateApplicationBuilder();
        var server = new FakeApiServer(_ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        builder.Services.AddSingleton(new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server));
        builder.Services.AddPassboxRuntime(options => options with { LeaderElection = options.LeaderElection with { Enabled = false } });
        var informer = new FaultingInformer();
        builder.Services.AddSingleton<IInformer>(informer);
        builder.Services.AddSingleton<IController>(new IdleController(informer));
        using var host = builder.Build();
        var stopping = new TaskCompletionSource();
        using var onStopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        try
        {
            await host.StartAsync();
            await Task.Delay(200);
            stopping.Task.IsCompleted.Should().BeFalse("the informer and the controller run");

            // Its cache stays as it was from now on: the controller would go on acting on it, and readiness said nothing.
            informer.Fault();

            await stopping.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Environment.ExitCode.Should().Be(1, "the pod restarts, as after controllers that end unasked");
            await host.StopAsync();
        }
        finally
        {
            Environment.ExitCode = exitCodeBefore;
        }
    }

    /// <summary>Synced at once; its run ends with an exception when the test says so.</summary>
    private sealed class FaultingInformer : IInformer
    {
        private readonly TaskCompletionSource fault = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ResourceDescriptor Resource { get; } = ResourceDescriptor.For<Widget>();

        public bool HasSynced => true;

        public string? SyncProblem => null;

        public Task WaitForSyncAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RunAsync(CancellationToken cancellationToken) => fault.Task.WaitAsync(cancellationToken);

        public void Fault() => fault.SetException(new InvalidOperationException("the informer's loop failed"));
    }

    /// <summary>Runs until asked to stop, reconciling nothing.</summary>
    private sealed class IdleController(IInformer informer) : IController
    {
        public string Name => "idle";

        public IReadOnlyList<IInformer> Informers { get; } = [informer];

        public async Task RunAsync(CancellationToken cancellationToken, CancellationToken abortToken = default) =>
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
