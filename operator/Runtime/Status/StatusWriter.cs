using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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

    /// <summary>
    /// What this writer last wrote per object. The informer's copy lags the server by a watch event, so a write soon
    /// after another can find the cached status equal to what it wants while the server holds the first write (a Pod
    /// counted in usedBy, then finished at once): judged by the cache alone that is "unchanged", and the status would
    /// name the Pod until the next change. A resourceVersion and a hash per object (by uid: the writer serves every kind),
    /// dropped by <see cref="Forget"/>.
    /// </summary>
    private readonly ConcurrentDictionary<string, OwnWrite> lastWrites = new();

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
    /// object it is given (see <see cref="Conditions"/>). It returns null when the fresh object shows that what it
    /// would write is outdated; the writer then writes nothing and answers <see cref="StatusWriteResult.Outdated"/>.
    /// </summary>
    public async Task<StatusWriteResult> WriteAsync<T, TStatus>(T entity, Func<T, TStatus?> desiredStatus, CancellationToken cancellationToken)
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
            if (desiredStatus(current) is not { } wanted)
            {
                Count(resource, "outdated");
                logger.LogDebug("Status of {Kind} {Key} changed since it was computed; left to the next reconcile", resource.Kind, key);
                return StatusWriteResult.Outdated;
            }

            var desired = JsonNode.Parse(KubernetesJson.Serialize(wanted));
            var stored = JsonNode.Parse(KubernetesJson.Serialize(current))?["status"];
            var desiredHash = Hash(desired);
            if (!JsonMergePatch.TryCreate(stored, desired, out var statusPatch))
            {
                if (attempt == 1 && CacheMissesOwnWrite(current, desiredHash))
                {
                    // The cached copy agrees, but the server holds this writer's last status, which differs: compare
                    // with the server's copy instead (one read, only in this window).
                    if (await ReadAsync<T>(resource, key, cancellationToken).ConfigureAwait(false) is not { } live)
                    {
                        Count(resource, "not_found");
                        return StatusWriteResult.NotFound;
                    }

                    current = live;
                    continue;
                }

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
                var written = await PatchAsync(resource, key, patch, cancellationToken).ConfigureAwait(false);
                lastWrites[IdentityOf(current)] = new OwnWrite(written, desiredHash);
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
            if (await ReadAsync<T>(resource, key, cancellationToken).ConfigureAwait(false) is not { } reread)
            {
                Count(resource, "not_found");
                return StatusWriteResult.NotFound;
            }

            current = reread;

            if (current.Metadata.Generation != generation)
            {
                Count(resource, "superseded");
                return StatusWriteResult.Superseded;
            }
        }
    }

    /// <summary>Forgets what was written for an object that is gone.</summary>
    public void Forget(IKubernetesObject<V1ObjectMeta> gone)
    {
        ArgumentNullException.ThrowIfNull(gone);
        lastWrites.TryRemove(IdentityOf(gone), out _);
    }

    /// <summary>The object's uid: unique across kinds and across a delete and re-create under the same name.</summary>
    private static string IdentityOf(IKubernetesObject<V1ObjectMeta> obj) =>
        obj.Metadata.Uid ?? $"{obj.ApiVersion}/{obj.Kind}/{ObjectKey.Of(obj)}";

    /// <summary>
    /// True when this writer's last status for the object is not in <paramref name="cached"/> yet (another
    /// resourceVersion) and differs from what is wanted now: the cache's agreement then proves nothing.
    /// </summary>
    private bool CacheMissesOwnWrite<T>(T cached, string desiredHash)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        lastWrites.TryGetValue(IdentityOf(cached), out var last)
        && last.ResourceVersion != cached.Metadata.ResourceVersion
        && last.StatusHash != desiredHash;

    private static string Hash(JsonNode? status) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(status?.ToJsonString() ?? "null")));

    private async Task<T?> ReadAsync<T>(ResourceDescriptor resource, ObjectKey key, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        try
        {
            return await api.GetAsync<T>(resource.ItemPath(key), cancellationToken).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>Sends the patch; returns the resourceVersion the server gave the object.</summary>
    private async Task<string?> PatchAsync(ResourceDescriptor resource, ObjectKey key, JsonObject patch, CancellationToken cancellationToken)
    {
        var body = new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch);
        var customObjects = api.Typed.CustomObjects;
        var result = key.Namespace is { } ns
            ? await customObjects.PatchNamespacedCustomObjectStatusAsync(body, resource.Group, resource.Version, ns, resource.Plural, key.Name, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await customObjects.PatchClusterCustomObjectStatusAsync(body, resource.Group, resource.Version, resource.Plural, key.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        return result is JsonElement { ValueKind: JsonValueKind.Object } answer
            && answer.TryGetProperty("metadata", out var metadata)
            && metadata.TryGetProperty("resourceVersion", out var version)
            && version.ValueKind == JsonValueKind.String
                ? version.GetString()
                : null;
    }

    /// <summary>The status this writer last sent for an object, and the resourceVersion the server answered with.</summary>
    private sealed record OwnWrite(string? ResourceVersion, string StatusHash);

    private static void Count(ResourceDescriptor resource, string outcome) => RuntimeMetrics.StatusWrites.WithLabels(resource.Kind, outcome).Inc();
}
