using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// One watch request, resumed from <see cref="LastResourceVersion"/>: opens the stream with bookmarks and a jittered
/// server-side timeout, decodes its events as their bytes arrive and hands object changes to the store. Kept apart
/// from the loop that retries it because this is the hot path (every change in the cluster passes through here,
/// thousands a second): it must add no allocation or copy per event beyond decoding.
/// </summary>
internal sealed class WatchStream<T>(
    CollectionRequests<T> requests,
    ResourceDescriptor resource,
    InformerOptions<T> options,
    InformerStore<T> store,
    InformerMetrics metrics,
    TimeProvider time,
    ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>Client-side guard beyond the server's timeoutSeconds, for connections that die silently.</summary>
    private static readonly TimeSpan WatchGrace = TimeSpan.FromSeconds(30);

    private string? lastResourceVersion;

    // Resolved on first decode, after the host registered the operator's JSON metadata, not when the informer is
    // constructed; then kept, since every watch event needs them. (A race only resolves them twice.)
    private WatchJson<T>? watchJson;

    private WatchJson<T> EventJson => watchJson ??= WatchJson<T>.For(options.KeepManagedFields);

    /// <summary>The resourceVersion the next watch resumes from (last event, bookmark or list).</summary>
    public string? LastResourceVersion
    {
        get => Volatile.Read(ref lastResourceVersion);
        set => Volatile.Write(ref lastResourceVersion, value);
    }

    /// <summary>
    /// Watches until the server ends the stream; returns whether any event arrived. <paramref name="opened"/> is told when
    /// the server has accepted the watch, before its first event; <paramref name="following"/> at the first event or
    /// bookmark. Being accepted does not yet show that the watch follows the server: it may end with an ERROR event at
    /// once, every time (an object the conversion webhook cannot convert, say).
    /// </summary>
    public async Task<bool> WatchAsync(Action opened, Action following, CancellationToken cancellationToken)
    {
        var timeoutSeconds = (int)Math.Max(1, Math.Round(options.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble())));
        var query = new StringBuilder("?watch=true&allowWatchBookmarks=true&timeoutSeconds=").Append(timeoutSeconds);
        if (LastResourceVersion is { Length: > 0 } resumeFrom)
        {
            query.Append("&resourceVersion=").Append(Uri.EscapeDataString(resumeFrom));
        }

        options.AppendSelectors(query);

        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds) + WatchGrace, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, guard.Token);
        try
        {
            using var response = await requests.WatchAsync(query.ToString(), linked.Token).ConfigureAwait(false);
            opened();
            var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await ReadWatchAsync(stream, following, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (guard.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The watch of {resource.DisplayName} went silent past its timeout.");
        }
    }

    /// <summary>
    /// Handles the stream's events line by line as their bytes arrive; returns whether any event arrived, and tells
    /// <paramref name="following"/> at the first.
    /// </summary>
    private async Task<bool> ReadWatchAsync(Stream stream, Action following, CancellationToken cancellationToken)
    {
        var pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var delivered = false;
            while (true)
            {
                var read = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = read.Buffer;
                while (WatchLines.TryTakeLine(ref buffer, out var line))
                {
                    delivered = Delivered(HandleWatchLine(line), delivered, following);
                }

                if (read.IsCompleted)
                {
                    // A last line without its line break (the server ends the stream after a whole event).
                    return Delivered(HandleWatchLine(buffer), delivered, following);
                }

                pipe.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether an event arrived so far; the first one (an ERROR event throws instead) tells <paramref name="following"/>.</summary>
    private static bool Delivered(bool eventArrived, bool deliveredBefore, Action following)
    {
        if (eventArrived && !deliveredBefore)
        {
            following();
        }

        return eventArrived || deliveredBefore;
    }

    /// <summary>Handles one line of the stream; returns whether it held an event (blank lines do not).</summary>
    private bool HandleWatchLine(ReadOnlySequence<byte> line)
    {
        if (WatchLines.IsBlank(line))
        {
            return false;
        }

        var change = WatchLines.Decode(line, EventJson);
        metrics.WatchEvent(change.Type);
        switch (change.Type)
        {
            case "ADDED":
            case "MODIFIED":
            case "DELETED":
                ApplyWatchEvent(change);
                break;
            case "BOOKMARK":
                if (change.BookmarkVersion is { Length: > 0 } version)
                {
                    LastResourceVersion = version;
                }

                break;
            case "ERROR":
                var code = (HttpStatusCode)(change.Error?.Code ?? 500);
                throw new KubernetesApiException(code, change.Error, null, $"Watch error {(int)code} {change.Error?.Reason}: {change.Error?.Message}");
            default:
                logger.LogWarning("Ignoring watch event of unknown type {Type} for {Resource}", change.Type, resource.DisplayName);
                break;
        }

        return true;
    }

    private void ApplyWatchEvent(WatchEvent<T> change)
    {
        if (change.ObjectError is { } error)
        {
            // Re-watching would deliver the same bytes again; skip the object, keep the stream.
            logger.LogError(error, "Could not decode a {Type} event of {Resource}; skipping it", change.Type, resource.DisplayName);
            return;
        }

        var item = change.Object;
        if (item?.Metadata?.Name is null)
        {
            return;
        }

        var version = item.Metadata.ResourceVersion;
        store.ApplyWatched(change.Type, item);

        if (!string.IsNullOrEmpty(version))
        {
            LastResourceVersion = version;
        }

        metrics.CachedObjects(store.Cache.Count);
    }
}
