using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The handlers an informer tells of its changes. Subscribing replaces the array, so publishing, which happens on every
/// watch event, reads it without taking a lock; a handler that throws is logged and keeps no other handler from its event.
/// </summary>
internal sealed class InformerSubscribers<T>(ResourceDescriptor resource, ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock subscribersGate = new();
    private Action<InformerEvent<T>>[] subscribers = [];

    public IDisposable Subscribe(Action<InformerEvent<T>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (subscribersGate)
        {
            subscribers = [.. subscribers, handler];
        }

        return new Subscription(() =>
        {
            lock (subscribersGate)
            {
                subscribers = [.. subscribers.Where(existing => existing != handler)];
            }
        });
    }

    public void Publish(InformerEvent<T> change)
    {
        foreach (var subscriber in Volatile.Read(ref subscribers))
        {
            try
            {
                subscriber(change);
            }
            catch (Exception e)
            {
                logger.LogError(e, "A subscriber of {Resource} failed on {Type} of {Key}", resource.DisplayName, change.Type, ObjectKey.Of(change.Current));
            }
        }
    }

    private sealed class Subscription(Action unsubscribe) : IDisposable
    {
        private Action? unsubscribe = unsubscribe;

        public void Dispose() => Interlocked.Exchange(ref unsubscribe, null)?.Invoke();
    }
}
