using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Restarts the workloads that asked for it when a generated Secret's data changes, the way Stakater Reloader and
/// <c>kubectl rollout restart</c> do: an annotation on the pod template with the time. Deployments, StatefulSets and
/// DaemonSets in the Secret's namespace opt in with Reloader's own annotations, so a workload already set up for
/// Reloader needs nothing new: <c>secret.reloader.stakater.com/reload</c> naming the Secret, or
/// <c>reloader.stakater.com/auto</c> / <c>secret.reloader.stakater.com/auto</c> set to "true" when the pod template
/// uses the Secret. Argo Rollouts opt in the same way, when their CRD exists, and are restarted through
/// <c>spec.restartAt</c> (<see cref="ArgoRollouts"/>). With Reloader installed as well, a workload may restart twice;
/// that is harmless.
/// <para>
/// A workload whose Pods the annotation does not replace (paused, OnDelete: <see cref="PendingPodUpdates"/>) is
/// annotated all the same but reported as not restarted, naming what its owner must do. A restart that fails stays
/// owed (<see cref="Api.V1Alpha1.CredentialStatus.RestartPending"/>) and is tried again on later reconciles, with
/// backoff, until it succeeds; a later attempt at the same debt patches only the workloads not reached yet (in this
/// process: after a restart of the operator, all of them again). A workload deleted between the list and its patch
/// is no failure: nothing runs from it any more.
/// </para>
/// </summary>
public sealed partial class WorkloadRestarter(
    KubernetesApiClient api, IInstalledDefinitions definitions, IEventSink events, TimeProvider time, ILogger<WorkloadRestarter> logger)
{
    public const string RestartedAtAnnotation = "passbox.dev/restartedAt";
    public const string ReloadAnnotation = "secret.reloader.stakater.com/reload";
    public const string AutoAnnotation = "reloader.stakater.com/auto";
    public const string SecretAutoAnnotation = "secret.reloader.stakater.com/auto";

    /// <summary>The longest wait between attempts at an owed restart.</summary>
    public static readonly TimeSpan RetryCap = TimeSpan.FromMinutes(5);

    private readonly ArgoRollouts rollouts = new(api);

    /// <summary>Per credential (<see cref="CheckMemory.KeyOf"/>): what the attempts at its owed restart did, how many failed and when the next may run; kept in memory, so a new process tries at once.</summary>
    private readonly ConcurrentDictionary<string, Debt> debts = new(StringComparer.Ordinal);

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
    /// and its backoff allows; clears the debt once every opted-in workload was reached. Says when to try again (null
    /// when nothing is owed) and, when an attempt ran, what it did.
    /// <paramref name="fresh"/> says the published data just changed: then it tries at once, whatever earlier attempts failed.
    /// </summary>
    public async Task<RestartSettlement> SettleAsync(IKubernetesObject<V1ObjectMeta> credential, string namespaceName, string secretName,
        Api.V1Alpha1.CredentialStatus status, bool fresh, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(status);
        var key = CheckMemory.KeyOf(credential);
        if (fresh)
        {
            debts.TryRemove(key, out _);
        }

        if (status.RestartPending is not { } revision)
        {
            return new RestartSettlement(null, null);
        }

        var now = time.GetUtcNow();
        if (!debts.TryGetValue(key, out var debt) || debt.Report.Revision != revision)
        {
            debt = new Debt(new RestartReport(revision), 0, now);
        }

        if (debt.NextTry > now)
        {
            return new RestartSettlement(debt.NextTry - now, null);
        }

        var report = await RestartAsync(credential, namespaceName, secretName, debt.Report, ct);
        if (report.Complete)
        {
            status.RestartPending = null;
            debts.TryRemove(key, out _);
            return new RestartSettlement(null, report);
        }

        var failures = debt.Failures + 1;
        var delay = ValidationPlanner.Backoff(failures, RetryCap, ValidationPlanner.StableFraction(key, now));
        debts[key] = new Debt(report, failures, now + delay);
        return new RestartSettlement(delay, report);
    }

    /// <summary>Forgets the owed restart of a deleted credential.</summary>
    public void Forget(string key) => debts.TryRemove(key, out _);

    /// <summary>
    /// Restarts every opted-in workload of the namespace that <paramref name="report"/> has not handled yet and adds
    /// what happened to it; failures are reported, never thrown.
    /// </summary>
    public async Task<RestartReport> RestartAsync(IKubernetesObject<V1ObjectMeta> credential, string namespaceName, string secretName,
        RestartReport report, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.BeginAttempt();
        var (restartedBefore, deferredBefore) = (report.Restarted.Count, report.Deferred.Count);
        var stamp = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var annotations = new JsonObject { [RestartedAtAnnotation] = stamp };
        var body = new JsonObject { ["spec"] = new JsonObject { ["template"] = new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = annotations } } } };
        var patch = new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch);
        var apps = api.Typed.AppsV1;

        var deployments = await ListAsync(report, "Deployments", async () => (await apps.ListNamespacedDeploymentAsync(namespaceName, cancellationToken: ct)).Items);
        foreach (var d in deployments.Where(d => OptsIn(d.Metadata, WorkloadReferences.From(d), secretName)))
        {
            await PatchAsync(report, $"Deployment {d.Metadata.Name}", namespaceName, secretName,
                async () => PendingPodUpdates.Of(await apps.PatchNamespacedDeploymentAsync(patch, d.Metadata.Name, namespaceName, cancellationToken: ct)));
        }

        var statefulSets = await ListAsync(report, "StatefulSets", async () => (await apps.ListNamespacedStatefulSetAsync(namespaceName, cancellationToken: ct)).Items);
        foreach (var s in statefulSets.Where(s => OptsIn(s.Metadata, WorkloadReferences.From(s), secretName)))
        {
            await PatchAsync(report, $"StatefulSet {s.Metadata.Name}", namespaceName, secretName,
                async () => PendingPodUpdates.Of(await apps.PatchNamespacedStatefulSetAsync(patch, s.Metadata.Name, namespaceName, cancellationToken: ct)));
        }

        var daemonSets = await ListAsync(report, "DaemonSets", async () => (await apps.ListNamespacedDaemonSetAsync(namespaceName, cancellationToken: ct)).Items);
        foreach (var d in daemonSets.Where(d => OptsIn(d.Metadata, WorkloadReferences.From(d), secretName)))
        {
            await PatchAsync(report, $"DaemonSet {d.Metadata.Name}", namespaceName, secretName,
                async () => PendingPodUpdates.Of(await apps.PatchNamespacedDaemonSetAsync(patch, d.Metadata.Name, namespaceName, cancellationToken: ct)));
        }

        // Known from the CRD watch: a cluster without Argo Rollouts costs no request, and a role without rollouts no 403.
        if (definitions.IsInstalled(ArgoRollouts.Resource.DisplayName))
        {
            var byName = deployments.ToDictionary(d => d.Metadata.Name, StringComparer.Ordinal);
            var found = await ListAsync(report, "Rollouts", async () => (IList<UntypedObject>)[.. await rollouts.ListAsync(namespaceName, ct)]);
            foreach (var r in found.Where(r => OptsIn(r.Metadata, ArgoRolloutReferences.FromResolvedTemplate(r.ToJson(), byName), secretName)))
            {
                await PatchAsync(report, $"{ArgoRollouts.Kind} {r.Metadata.Name}", namespaceName, secretName, async () =>
                {
                    await rollouts.RestartAsync(namespaceName, r.Metadata.Name, stamp, ct);
                    return null;
                });
            }
        }

        var message = report.Describe(secretName);
        if (!report.Complete)
        {
            await events.WarningAsync(credential, "RestartFailed", message, ct);
        }
        else if (report.Deferred.Count > deferredBefore)
        {
            LogRestartDeferred(logger, credential.Kind, namespaceName, credential.Metadata.Name, secretName, message);
            await events.WarningAsync(credential, "RestartDeferred", message, ct);
        }
        else if (report.Restarted.Count > restartedBefore)
        {
            // A restart takes every Pod of a workload down in turn: the log, not only an Event that expires within the
            // hour, must say that Passbox did it and why, for whoever looks into the rollout later.
            LogWorkloadsRestarted(logger, credential.Kind, namespaceName, credential.Metadata.Name, secretName, message);
            await events.NormalAsync(credential, "WorkloadsRestarted", message, ct);
        }

        return report;
    }

    /// <summary>The items of one list, or none with the failure noted: the other kinds are still restarted.</summary>
    private async Task<IList<T>> ListAsync<T>(RestartReport report, string kinds, Func<Task<IList<T>>> list)
    {
        try
        {
            return await list();
        }
        catch (Exception e) when (FailureOf(e) is { } failure)
        {
            LogRestartFailed(logger, $"listing {kinds}", failure);
            report.AddFailed($"listing {kinds} ({failure})");
            return [];
        }
    }

    private async Task PatchAsync(RestartReport report, string workload, string namespaceName, string secretName, Func<Task<string?>> patch)
    {
        if (report.Handled(workload))
        {
            return;
        }

        try
        {
            if (await patch() is { } why)
            {
                report.AddDeferred(workload, why);
            }
            else
            {
                report.AddRestarted(workload);
            }
        }
        catch (Exception e) when (IsNotFound(e))
        {
            // Deleted since the list: nothing runs from it any more, so nothing is owed to it.
            LogWorkloadGone(logger, workload, namespaceName, secretName);
        }
        catch (Exception e) when (FailureOf(e) is { } failure)
        {
            LogRestartFailed(logger, $"{workload} in {namespaceName}", failure);
            report.AddFailed($"{workload} ({failure})");
        }
    }

    private static bool IsNotFound(Exception e) =>
        e is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound } or KubernetesApiException { IsNotFound: true };

    /// <summary>How a failed request is named in the status and events (a status code, never a response body); null for what is not a failed request.</summary>
    private static string? FailureOf(Exception e) => e switch
    {
        HttpOperationException http => $"HTTP {(int)http.Response.StatusCode}",
        KubernetesApiException status => $"HTTP {(int)status.StatusCode}",
        HttpRequestException => "the API server could not be reached",
        _ => null,
    };

    private static bool IsTrue(IDictionary<string, string> annotations, string key) =>
        annotations.TryGetValue(key, out var value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restarted workloads for {Kind} {Namespace}/{Name}, Secret {Secret}: {Detail}")]
    private static partial void LogWorkloadsRestarted(ILogger logger, string? kind, string @namespace, string name, string secret, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restart of workloads for {Kind} {Namespace}/{Name}, Secret {Secret}, deferred: {Detail}")]
    private static partial void LogRestartDeferred(ILogger logger, string? kind, string @namespace, string name, string secret, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restart for a changed Secret: {What} failed: {Failure}")]
    private static partial void LogRestartFailed(ILogger logger, string what, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Workload} in {Namespace} was deleted before it could be restarted for Secret {Secret}")]
    private static partial void LogWorkloadGone(ILogger logger, string workload, string @namespace, string secret);

    private sealed record Debt(RestartReport Report, int Failures, DateTimeOffset NextTry);
}

/// <summary>When to try an owed restart again (null: nothing owed), and what the attempt of this pass did (null: none ran).</summary>
public sealed record RestartSettlement(TimeSpan? RetryAfter, RestartReport? Report);
