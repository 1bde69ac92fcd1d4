using System.Diagnostics.Metrics;
using Prometheus;

namespace Passbox.Operator.Runtime.Metrics;

/// <summary>
/// Which .NET meters <c>/metrics</c> carries beside Passbox's own series. prometheus-net publishes every meter in the
/// process, and .NET has meters meant only for its own developers, named <c>Private.InternalDiagnostics.*</c>: System.Net.Quic's
/// alone put some 30 <c>private_internaldiagnostics_system_net_quic_*</c> series (MsQuic's internal counters) in every
/// scrape, which nobody can act on and every Prometheus stores. The public meters stay: System.Runtime (collections,
/// heap, thread pool, exceptions), System.Net.Http and System.Net.NameResolution (the calls to the API server and the
/// databases), ASP.NET Core's.
/// </summary>
public static class MeterExport
{
    /// <summary>Whether an instrument's series are served: all but those of .NET's private diagnostics meters.</summary>
    public static bool Publishes(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        return !IsPrivate(instrument.Meter.Name);
    }

    /// <summary>.NET names the meters it does not mean for users <c>Private.…</c> (so far <c>Private.InternalDiagnostics.…</c>).</summary>
    public static bool IsPrivate(string meterName)
    {
        ArgumentNullException.ThrowIfNull(meterName);
        return meterName.StartsWith("Private.", StringComparison.OrdinalIgnoreCase)
            || meterName.Contains(".InternalDiagnostics.", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Sets the filter on a meter adapter's options.</summary>
    public static void Configure(MeterAdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.InstrumentFilterPredicate = Publishes;
    }

    /// <summary>
    /// Applies the filter to the adapter prometheus-net starts for its default registry, which it does at the first
    /// scrape: this must run before (the runtime's registration calls it).
    /// </summary>
    public static void ApplyToDefaultRegistry() => Prometheus.Metrics.ConfigureMeterAdapter(Configure);
}
