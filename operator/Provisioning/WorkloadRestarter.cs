using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Usage;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Restarts the workloads that asked for it when a generated Secret's data changes, the way Stakater Reloader and
/// <c>kubectl rollout restart</c> do: an annotation on the pod template with the time. Deployments, StatefulSets and
/// DaemonSets in the Secret's namespace opt in with Reloader's own annotations, so a workload already set up for
/// Reloader needs nothing new: <c>secret.reloader.stakater.com/reload</c> naming the Secret, or
/// <c>reloader.stakater.com/auto</c> / <c>secret.reloader.stakater.com/auto</c> set to "true" when the pod template
/// uses the Secret. With Reloader installed as well, a workload may restart twice; that is harmless.
/// A restart that fails stays owed (<see cref="Api.V1Alpha1.CredentialStatus.RestartPending"/>) and is tried again on
/// later reconciles, with backoff, until it succeeds; workloads restarted by the failed attempt may restart twice.
/// </summary>
public sealed partial class WorkloadRestarter(IKubernetes client, IEventSink events, TimeProvider time, ILogger<WorkloadRestarter> logger)
{
    public const string RestartedAtAnnotation = "passbox.dev/restartedAt";
    public const string ReloadAnnotation = "secret.reloader.stakater.com/reload";
    public const string AutoAnnotation = "reloader.stakater.com/auto";
    public const string SecretAutoAnnotation = "secret.reloader.stakater.com/auto";

    /// <summary>The longest wait between attempts at an owed restart.</summary>
    public static readonly TimeSpan RetryCap = TimeSpan.FromMinutes(5);

    /// <summary>Failed attempts per credential UID and when the next may run; kept in memory, so a new process tries at once.</summary>
    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset NextTry)> retries = new(StringComparer.Ordinal);

    /// <summary>True when a workload opted in to restarts on changes of <paramref name="secretName"/>.</summary>
    public static bool OptsIn(V1ObjectMeta metadata, ObjectReferences references, string secretName)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(references);
        var annotations = metadata.Annotations ?? new Dictionary<string, string>();
        if (annotations.TryGetValue(ReloadAnnotation, out var names)
            && names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Contains(secretName, StringComparer.Ordinal))
        {
            return true;
        }

        var auto = IsTrue(annotations, AutoAnnotation) || IsTrue(annotations, SecretAutoAnnotation);
        return auto && references.SecretNames.Contains(secretName, StringComparer.Ordinal);
    }

    /// <summary>
    /// Restarts the workloads of <paramref name="secretName"/> when <paramref name="status"/> says a restart is owed
    /// and its backoff allows; clears the debt on success. Returns when to try again, or null when nothing is owed.
    /// <paramref name="fresh"/> says the published data just changed: then it tries at once, whatever earlier attempts failed.
    /// </summary>
    public async Task<TimeSpan?> SettleAsync(IKubernetesObject<V1ObjectMeta> credential, string namespaceName, string secretName,
        Api.V1Alpha1.CredentialStatus status, bool fresh, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(status);
        var key = credential.Metadata.Uid ?? $"{namespaceName}/{credential.Metadata.Name}";
        if (fresh)
        {
            retries.TryRemove(key, out _);
        }

        if (status.RestartPending is null)
        {
            return null;
        }

        var now = time.GetUtcNow();
        retries.TryGetValue(key, out var previous);
        if (previous.NextTry > now)
        {
            return previous.NextTry - now;
        }

        if (await RestartAsync(credential, namespaceName, secretName, ct))
        {
            status.RestartPending = null;
            retries.TryRemove(key, out _);
            return null;
        }

        var failures = previous.Failures + 1;
        var delay = ValidationPlanner.Backoff(failures, RetryCap, ValidationPlanner.StableFraction(key, now));
        retries[key] = (failures, now + delay);
        return delay;
    }

    /// <summary>Forgets the retries of a deleted credential.</summary>
    public void Forget(string uid) => retries.TryRemove(uid, out _);

    /// <summary>Restarts every opted-in workload of the namespace; failures are reported, never thrown. True when all restarted.</summary>
    public async Task<bool> RestartAsync(IKubernetesObject<V1ObjectMeta> credential, string namespaceName, string secretName, CancellationToken ct)
    {
        var restarted = new List<string>();
        var stamp = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var annotations = new JsonObject { [RestartedAtAnnotation] = stamp };
        var body = new JsonObject { ["spec"] = new JsonObject { ["template"] = new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = annotations } } } };
        var patch = new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch);
        try
        {
            foreach (var d in (await client.AppsV1.ListNamespacedDeploymentAsync(namespaceName, cancellationToken: ct)).Items
                .Where(d => OptsIn(d.Metadata, WorkloadReferences.From(d), secretName)))
            {
                await client.AppsV1.PatchNamespacedDeploymentAsync(patch, d.Metadata.Name, namespaceName, cancellationToken: ct);
                restarted.Add($"Deployment {d.Metadata.Name}");
            }

            foreach (var s in (await client.AppsV1.ListNamespacedStatefulSetAsync(namespaceName, cancellationToken: ct)).Items
                .Where(s => OptsIn(s.Metadata, WorkloadReferences.From(s), secretName)))
            {
                await client.AppsV1.PatchNamespacedStatefulSetAsync(patch, s.Metadata.Name, namespaceName, cancellationToken: ct);
                restarted.Add($"StatefulSet {s.Metadata.Name}");
            }

            foreach (var d in (await client.AppsV1.ListNamespacedDaemonSetAsync(namespaceName, cancellationToken: ct)).Items
                .Where(d => OptsIn(d.Metadata, WorkloadReferences.From(d), secretName)))
            {
                await client.AppsV1.PatchNamespacedDaemonSetAsync(patch, d.Metadata.Name, namespaceName, cancellationToken: ct);
                restarted.Add($"DaemonSet {d.Metadata.Name}");
            }
        }
        catch (HttpOperationException e)
        {
            LogRestartFailed(logger, namespaceName, secretName, (int)e.Response.StatusCode);
            await events.WarningAsync(credential, "RestartFailed",
                $"Secret {secretName} changed but restarting its workloads failed ({(int)e.Response.StatusCode}){(restarted.Count > 0 ? $" after {string.Join(", ", restarted)}" : string.Empty)}; it is tried again", ct);
            return false;
        }

        if (restarted.Count > 0)
        {
            await events.NormalAsync(credential, "WorkloadsRestarted", $"Secret {secretName} changed: restarted {string.Join(", ", restarted)}", ct);
        }

        return true;
    }

    private static bool IsTrue(IDictionary<string, string> annotations, string key) =>
        annotations.TryGetValue(key, out var value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarting workloads of {Namespace}/{Secret} failed with HTTP {Status}")]
    private static partial void LogRestartFailed(ILogger logger, string @namespace, string secret, int status);
}
