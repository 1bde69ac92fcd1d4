using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
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
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag), ResponseWriter = WriteReadinessAsync });
        app.MapMetrics("/metrics");
        return app;
    }

    /// <summary>
    /// The status, and for each check that is not healthy why not (an informer whose list the role refuses, say), so
    /// <c>curl /readyz</c> answers the first question about a pod that never gets ready. Descriptions hold names only.
    /// </summary>
    private static Task WriteReadinessAsync(HttpContext context, HealthReport report)
    {
        var text = new System.Text.StringBuilder(report.Status.ToString());
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append('\n').Append(name).Append(": ").Append(entry.Description);
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.Append('\n').ToString());
    }
}
