using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Runtime.Status;

public sealed record StatusWriterOptions
{
    /// <summary>Attempts in total when the object keeps changing under us (409 Conflict).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Base pause before re-reading after a conflict; grows with the attempt and is jittered.</summary>
    public TimeSpan ConflictDelay { get; init; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>
/// Writes the status of a custom resource with a JSON merge patch to its <c>/status</c> subresource
/// (CRDs reject strategic merge patch). Sends nothing when the desired status equals the one the
/// caller's object already has; otherwise sends only the difference, always with whole arrays
/// (conditions), and with <c>metadata.resourceVersion</c> so that a concurrent change yields 409
/// Conflict, after which the object is read again and the status recomputed from it.
/// </summary>
public sealed class StatusWriter
{
    private readonly KubernetesApiClient api;
    private readonly TimeProvider time;
    private readonly ILogger<StatusWriter> logger;
    private readonly StatusWriterOptions options;
    private readonly Func<double> random;

    public StatusWriter(KubernetesApiClient api, TimeProvider time, ILogger<StatusWriter> logger, StatusWriterOptions? options = null, Func<double>? random = null)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        this.api = api;
        this.time = time;
        this.logger = logger;
        this.options = options ?? new StatusWriterOptions();
        this.random = random ?? Random.Shared.NextDouble;
    }

    /// <summary>
    /// Makes the stored status equal to <paramref name="desiredStatus"/>(object). The function is called
    /// again with the fresh object after a conflict, so it should derive transition times from the
    /// object it is given (see <see cref="Conditions"/>).
    /// </summary>
    public async Task<StatusWriteResult> WriteAsync<T, TStatus>(T entity, Func<T, TStatus> desiredStatus, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentNullException.ThrowIfNull(desiredStatus);
        var resource = ResourceDescriptor.For<T>(namespaced: !string.IsNullOrEmpty(entity.Metadata.NamespaceProperty));
        var key = ObjectKey.Of(entity);
        var generation = entity.Metadata.Generation;
        var current = entity;

        for (var attempt = 1; ; attempt++)
        {
            var desired = JsonNode.Parse(KubernetesJson.Serialize(desiredStatus(current)));
            var stored = JsonNode.Parse(KubernetesJson.Serialize(current))?["status"];
            if (!JsonMergePatch.TryCreate(stored, desired, out var statusPatch))
            {
                Count(resource, "unchanged");
                return StatusWriteResult.Unchanged;
            }

            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = current.Metadata.ResourceVersion },
                ["status"] = statusPatch,
            };

            try
            {
                await PatchAsync(resource, key, patch, cancellationToken).ConfigureAwait(false);
                Count(resource, "patched");
                logger.LogDebug("Status of {Kind} {Key} patched", resource.Kind, key);
                return StatusWriteResult.Patched;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                Count(resource, "not_found");
                return StatusWriteResult.NotFound;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < options.MaxAttempts)
            {
                Count(resource, "conflict");
                logger.LogDebug("Status of {Kind} {Key} changed concurrently (attempt {Attempt}); re-reading", resource.Kind, key, attempt);
            }

            await Task.Delay(options.ConflictDelay * attempt * (0.5 + random()), time, cancellationToken).ConfigureAwait(false);
            try
            {
                current = await api.GetAsync<T>(resource.ItemPath(key), cancellationToken).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
                Count(resource, "not_found");
                return StatusWriteResult.NotFound;
            }

            if (current.Metadata.Generation != generation)
            {
                Count(resource, "superseded");
                return StatusWriteResult.Superseded;
            }
        }
    }

    private async Task PatchAsync(ResourceDescriptor resource, ObjectKey key, JsonObject patch, CancellationToken cancellationToken)
    {
        var body = new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch);
        var customObjects = api.Typed.CustomObjects;
        if (key.Namespace is { } ns)
        {
            await customObjects.PatchNamespacedCustomObjectStatusAsync(body, resource.Group, resource.Version, ns, resource.Plural, key.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await customObjects.PatchClusterCustomObjectStatusAsync(body, resource.Group, resource.Version, resource.Plural, key.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private static void Count(ResourceDescriptor resource, string outcome) => RuntimeMetrics.StatusWrites.WithLabels(resource.Kind, outcome).Inc();
}
