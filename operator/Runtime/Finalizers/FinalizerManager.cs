using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Finalizers;

/// <summary>
/// Adds and removes finalizers with merge patches that carry the object's resourceVersion, so a
/// concurrent change of the finalizer list (another controller's) is never overwritten: on 409 the
/// object is read again and the change re-applied. Nothing is sent when the object is already in the
/// desired state.
/// </summary>
public sealed class FinalizerManager
{
    private const int MaxAttempts = 5;

    private readonly KubernetesApiClient api;
    private readonly ILogger<FinalizerManager> logger;
    private readonly OwnWrites? ownWrites;

    public FinalizerManager(KubernetesApiClient api, ILogger<FinalizerManager> logger, OwnWrites? ownWrites = null)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(logger);
        this.api = api;
        this.logger = logger;
        this.ownWrites = ownWrites;
    }

    public static bool Has(IKubernetesObject<V1ObjectMeta> entity, string finalizer)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return entity.Metadata?.Finalizers?.Contains(finalizer) == true;
    }

    /// <summary>
    /// Adds <paramref name="finalizer"/> and returns the updated object (or the given one if it had it).
    /// An object that is already being deleted is returned as is: the API forbids new finalizers then.
    /// </summary>
    public Task<T?> AddAsync<T>(T entity, string finalizer, CancellationToken cancellationToken, ResourceDescriptor? resource = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        ChangeAsync(entity, finalizer, add: true, resource, cancellationToken);

    /// <summary>Removes <paramref name="finalizer"/>; returns the updated object, or null if it is gone.</summary>
    public Task<T?> RemoveAsync<T>(T entity, string finalizer, CancellationToken cancellationToken, ResourceDescriptor? resource = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        ChangeAsync(entity, finalizer, add: false, resource, cancellationToken);

    /// <summary>Being deleted and left without finalizers: the API server removed it with this answer.</summary>
    private static bool IsGone(IKubernetesObject<V1ObjectMeta> updated) =>
        updated.Metadata.DeletionTimestamp is not null && updated.Metadata.Finalizers is not { Count: > 0 };

    private async Task<T?> ChangeAsync<T>(T entity, string finalizer, bool add, ResourceDescriptor? resource, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(entity);
        ArgumentException.ThrowIfNullOrEmpty(finalizer);
        var key = ObjectKey.Of(entity);
        resource ??= ResourceDescriptor.For<T>(namespaced: key.Namespace is not null);
        var current = entity;

        for (var attempt = 1; ; attempt++)
        {
            if (Has(current, finalizer) == add || (add && current.Metadata.DeletionTimestamp is not null))
            {
                return current;
            }

            var finalizers = (current.Metadata.Finalizers ?? []).Where(existing => existing != finalizer).ToList();
            if (add)
            {
                finalizers.Add(finalizer);
            }

            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["resourceVersion"] = current.Metadata.ResourceVersion,
                    ["finalizers"] = new JsonArray([.. finalizers.Select(name => JsonValue.Create(name))]),
                },
            };

            try
            {
                var updated = await api.PatchAsync<T>(resource.ItemPath(key), patch, cancellationToken).ConfigureAwait(false);
                if (!IsGone(updated))
                {
                    // Not for an object this removal let go: its Deleted event, which forgets its writes, can be handled
                    // before this line runs, and a version recorded after it would stay for the life of the process.
                    ownWrites?.Record(updated.Metadata);
                }

                // Every new credential gets the finalizer: that is routine (Debug); its removal ends a deletion (Information).
                logger.Log(add ? LogLevel.Debug : LogLevel.Information, "{Action} finalizer {Finalizer} on {Kind} {Key}", add ? "Added" : "Removed", finalizer, resource.Kind, key);
                return updated;
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
                return null;
            }
            catch (KubernetesApiException e) when (e.IsConflict && attempt < MaxAttempts)
            {
                logger.LogDebug("{Kind} {Key} changed while updating finalizers (attempt {Attempt}); re-reading", resource.Kind, key, attempt);
            }

            try
            {
                current = await api.GetAsync<T>(resource.ItemPath(key), cancellationToken).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsNotFound)
            {
                return null;
            }
        }
    }
}
