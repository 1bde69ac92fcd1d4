using System.Diagnostics.Metrics;
using Passbox.Operator.Runtime.Metrics;
using Prometheus;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>What a scrape carries of the process's .NET meters, through a meter adapter set up as the operator's is.</summary>
public sealed class MeterExportTests
{
    [Fact]
    public async Task A_scrape_carries_the_public_meters_and_not_the_private_diagnostics_ones()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        // The series go to the factory's registry (by default the default one), the adapter's own gauge to Registry.
        var options = new MeterAdapterOptions { Registry = registry, MetricFactory = Prometheus.Metrics.WithCustomRegistry(registry) };
        MeterExport.Configure(options);
        using var adapter = MeterAdapter.StartListening(options);

        // As System.Net.Quic's "Private.InternalDiagnostics.System.Net.Quic", whose MsQuic counters filled /metrics.
        using var quicLike = new Meter("Private.InternalDiagnostics.Passbox.Tests");
        quicLike.CreateObservableGauge("connections.created", () => 7L);
        using var library = new Meter("Passbox.Tests.Library");
        library.CreateObservableGauge("sessions.open", () => 3L);

        var text = await ScrapeAsync(registry);

        text.Should().Contain("passbox_tests_library_sessions_open 3", "a library's public meter is served");
        text.Should().MatchRegex("(?m)^system_runtime_", "the .NET runtime's own meter (collections, heap, thread pool) is served");
        text.Should().NotContain("private_internaldiagnostics", ".NET's private diagnostics are no one's to watch");
    }

    [Theory]
    [InlineData("Private.InternalDiagnostics.System.Net.Quic", true)]
    [InlineData("private.internaldiagnostics.system.net.quic", true)]
    [InlineData("Private.InternalDiagnostics.System.Net.Sockets", true)]
    [InlineData("System.Runtime", false)]
    [InlineData("System.Net.Http", false)]
    [InlineData("Microsoft.AspNetCore.Server.Kestrel", false)]
    public void Private_meters_are_told_by_their_name(string meterName, bool isPrivate) =>
        MeterExport.IsPrivate(meterName).Should().Be(isPrivate);

    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var scrape = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(scrape);
        return System.Text.Encoding.UTF8.GetString(scrape.ToArray());
    }
}
