using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime.Watching;
using Prometheus;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// What credentials do, for Prometheus. <c>passbox_checks_total{kind, reason}</c> counts every check (a login or a
/// probe) by its outcome's reason, the periodic ones that change nothing included: the rate of logins the operator
/// makes, and of those refused. <c>passbox_credential_ready{kind, namespace, name, reason}</c> is 1 while a credential's
/// <c>Ready</c> condition is True and 0 otherwise, with the condition's reason (empty before the operator's first
/// status). Conditions and events tell a person who looks; a metric is what pages someone when a password changed on
/// the server is found at the next check. <c>passbox_credential_expiry_timestamp_seconds{kind, namespace, name}</c> is
/// <c>status.expiresAt</c> where a credential has one. They are fed by the credential informers' changes, not by reconciles: the series
/// follow what the API server holds, a deleted credential's series goes with it, and a standby replica, which watches
/// but does not reconcile, exports the same values as the leader.
/// </summary>
public sealed class CredentialMetrics
{
    private static readonly Counter Checks = Prometheus.Metrics.CreateCounter(
        "passbox_checks_total",
        "Checks of credentials (logins and probes), by the reason of their outcome.",
        new CounterConfiguration { LabelNames = ["kind", "reason"] });

    private static readonly Gauge Ready = Prometheus.Metrics.CreateGauge(
        "passbox_credential_ready",
        "1 while the credential's Ready condition is True, else 0; reason is the condition's reason.",
        new GaugeConfiguration { LabelNames = ["kind", "namespace", "name", "reason"] });

    private static readonly Gauge Expiry = Prometheus.Metrics.CreateGauge(
        "passbox_credential_expiry_timestamp_seconds",
        "When the credential's checked credentials stop working by themselves (status.expiresAt), in Unix seconds; absent when unknown.",
        new GaugeConfiguration { LabelNames = ["kind", "namespace", "name"] });

    /// <summary>The reason each credential is exported under: a new reason replaces the old series instead of adding one.</summary>
    private readonly ConcurrentDictionary<(string Kind, string Namespace, string Name), string> exported = new();

    public static void CountCheck(string kind, string reason) => Checks.WithLabels(kind, reason).Inc();

    /// <summary>Exports the credentials <paramref name="informer"/> holds, and follows their changes.</summary>
    public IDisposable Track<T>(IInformer<T> informer, string kind, Func<T, CredentialStatus?> statusOf)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(informer);
        ArgumentNullException.ThrowIfNull(statusOf);
        return informer.Subscribe(change =>
        {
            var meta = change.Current.Metadata;
            var key = (Kind: kind, Namespace: meta.NamespaceProperty ?? string.Empty, meta.Name);
            if (change.Type == InformerEventType.Deleted)
            {
                if (exported.TryRemove(key, out var last))
                {
                    Ready.RemoveLabelled(key.Kind, key.Namespace, key.Name, last);
                }

                Expiry.RemoveLabelled(key.Kind, key.Namespace, key.Name);
                return;
            }

            var status = statusOf(change.Current);

            // As cert-manager exports certificates' ends: an alert on "expires within 14 days" warns before the check fails.
            if (status?.ExpiresAt is { } expiresAt)
            {
                Expiry.WithLabels(key.Kind, key.Namespace, key.Name).Set(new DateTimeOffset(DateTime.SpecifyKind(expiresAt, DateTimeKind.Utc)).ToUnixTimeSeconds());
            }
            else
            {
                Expiry.RemoveLabelled(key.Kind, key.Namespace, key.Name);
            }

            var condition = status?.Conditions?.Find(c => c.Type == ConditionTypes.Ready);
            var reason = condition?.Reason ?? string.Empty;
            if (exported.TryGetValue(key, out var previous) && previous != reason)
            {
                Ready.RemoveLabelled(key.Kind, key.Namespace, key.Name, previous);
            }

            exported[key] = reason;
            Ready.WithLabels(key.Kind, key.Namespace, key.Name, reason).Set(condition?.Status == "True" ? 1 : 0);
        });
    }
}
