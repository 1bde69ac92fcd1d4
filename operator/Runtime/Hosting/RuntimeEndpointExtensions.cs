using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Prometheus;

namespace Passbox.Operator.Runtime.Hosting;

public static class RuntimeEndpointExtensions
{
    public const string ReadyTag = "ready";

    /// <summary>
    /// <c>/healthz</c> answers while the process serves requests (no checks: a slow API server must not
    /// get the pod killed), <c>/readyz</c> runs the readiness checks, <c>/metrics</c> serves Prometheus.
    /// </summary>
    public static WebApplication MapPassboxRuntimeEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        app.MapMetrics("/metrics");
        return app;
    }
}
