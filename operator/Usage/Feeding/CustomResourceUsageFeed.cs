using System.Text.Json.Nodes;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// Feeds the <see cref="UsageIndex"/> from Tekton runs, Tasks and Pipelines, from Argo Workflows, CronWorkflows,
/// WorkflowTemplates and ClusterWorkflowTemplates, and from Argo Rollouts, while their CRDs exist. A cluster-scoped kind
/// (ClusterWorkflowTemplates) is watched only by an operator that watches every namespace. It watches the CRDs
/// (metadata only) and runs an informer for a kind of <see cref="UsageSources.ByDefinition"/> from the moment its CRD
/// appears until it is deleted, whether that is before the operator started or later.
/// <para>
/// To the hosting it is one informer. It has synced once the CRDs are listed and the informers of the CRDs found in
/// that list have synced, so controllers start only after the runs that exist at start are indexed, and never wait for
/// kinds the cluster does not have. A CRD still being established answers 404 for a moment; the informer retries.
/// A kind whose feed starts later is not waited for by anyone at start; until it has listed (or its feed stopped), it
/// is a pending listing in <see cref="UsageScope.Kinds"/>, and deletions wait for it.
/// </para>
/// <para>
/// Before watching, the CRD is read once to see that it serves the version the operator reads: an installation too old
/// to serve it (Tekton before v1) would otherwise answer 404 forever and keep the controllers from ever starting. Such a
/// kind is not watched, with a warning, until its CRD changes; a change that arrives while the CRD is being read makes
/// the feed read it again, as the answer may predate the change.
/// </para>
/// </summary>
public sealed class CustomResourceUsageFeed : IInformer, IInstalledDefinitions
{
    public static readonly ResourceDescriptor CustomResourceDefinitions =
        new("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", Namespaced: false);

    /// <summary>
    /// Names the CRD informer in its metrics' informer label and in its log category alike, as the usage feeds'
    /// informers are named in both: a watch restart in the log must be found in the metrics under the same name.
    /// </summary>
    public const string DefinitionsInformerName = "usage-customresourcedefinitions";

    private readonly KubernetesApiClient api;
    private readonly UsageIndex index;
    private readonly string? watchNamespace;
    private readonly UsageScope scope;
    private readonly TimeProvider time;
    private readonly ILoggerFactory loggers;
    private readonly ILogger logger;
    private readonly Informer<PartialObjectMetadata> definitions;
    private readonly Lock gate = new();
    private readonly Dictionary<string, Feed> feeds = new(StringComparer.Ordinal);
    private CancellationToken stopping;

    public CustomResourceUsageFeed(KubernetesApiClient api, UsageIndex index, string? watchNamespace, UsageScope scope, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggers);
        this.api = api;
        this.index = index;
        this.watchNamespace = watchNamespace;
        this.scope = scope;
        this.time = time;
        this.loggers = loggers;
        logger = loggers.CreateLogger<CustomResourceUsageFeed>();
        definitions = new Informer<PartialObjectMetadata>(api, CustomResourceDefinitions, new InformerOptions<PartialObjectMetadata>
        {
            Name = DefinitionsInformerName,
            MetadataOnly = true,
            Transform = NameOnly,
        }, time, loggers.CreateLogger($"Passbox.Operator.Runtime.Informer.{DefinitionsInformerName}"));
        definitions.Subscribe(OnDefinitionChanged);
    }

    public ResourceDescriptor Resource => CustomResourceDefinitions;

    public bool HasSynced => definitions.HasSynced && Snapshot().All(feed => !feed.FoundAtStart || feed.Informer.HasSynced || feed.Run.IsCompleted);

    public string? SyncProblem => definitions.SyncProblem
        ?? Snapshot().Where(feed => feed.FoundAtStart && !feed.Informer.HasSynced).Select(feed => feed.Informer.SyncProblem).FirstOrDefault(problem => problem is not null);

    /// <summary>
    /// The CRDs' informer's, or one kind's, that no longer follows the server: a kind whose watch keeps failing (Tekton's
    /// conversion webhook down, a role without its watch) leaves its runs as they were, and deletions would be let
    /// through on them. A kind whose CRD was deleted is no longer asked, and one whose version is not served never listed.
    /// </summary>
    public string? WatchProblem => definitions.WatchProblem
        ?? Snapshot().Select(feed => feed.Informer.WatchProblem).FirstOrDefault(problem => problem is not null);

    /// <summary>Any CRD, not only those watched here: the watch of CRDs keeps every CRD's name.</summary>
    public bool IsInstalled(string definitionName) => definitions.Cache.Get(new ObjectKey(null, definitionName)) is not null;

    /// <summary>The custom resources watched now, as <c>plural.group</c>.</summary>
    public IReadOnlyList<string> Watched => [.. Snapshot().Select(feed => feed.Source.Resource.DisplayName).Order(StringComparer.Ordinal)];

    public async Task WaitForSyncAsync(CancellationToken cancellationToken)
    {
        await definitions.WaitForSyncAsync(cancellationToken).ConfigureAwait(false);
        foreach (var feed in Snapshot().Where(feed => feed.FoundAtStart))
        {
            // A feed stopped because its CRD went away has nothing more to sync.
            await Task.WhenAny(feed.Informer.WaitForSyncAsync(cancellationToken), feed.Run).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        stopping = cancellationToken;
        try
        {
            await definitions.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Stopping with the process: the feeds' tokens are linked to this one; the index dies with the process.
            await Task.WhenAll(Snapshot().Select(feed => feed.Run)).ConfigureAwait(false);
        }
    }

    private void OnDefinitionChanged(InformerEvent<PartialObjectMetadata> change)
    {
        var name = change.Current.Metadata.Name;
        if (!UsageSources.ByDefinition.TryGetValue(name, out var source))
        {
            return;
        }

        if (!source.Resource.Namespaced && watchNamespace is not null)
        {
            // An operator that watches one namespace has a Role there and may not list a cluster-scoped kind: watching it
            // would only be refused, over and over. Said once when the CRD appears; the annotation covers such runs.
            if (change.Type == InformerEventType.Added)
            {
                logger.LogInformation(
                    "CRD {Definition} exists, but the operator watches namespace {Namespace} only and cannot read cluster-scoped {Kind} objects; annotate the runs that use them {Annotation}",
                    name,
                    watchNamespace,
                    source.Kind,
                    ApiGroup.UsesAnnotation);
            }

            return;
        }

        if (change.Type == InformerEventType.Deleted)
        {
            Feed? stopped;
            lock (gate)
            {
                feeds.Remove(name, out stopped);
            }

            if (stopped is not null)
            {
                // Deleting a CRD deletes its objects first, but their DELETE events come on another watch and may arrive
                // after the CRD's, when this feed no longer listens (measured: 2 in 40 deletions on a real API server).
                // The objects are gone either way, so the kind is forgotten here, after the feed is cut off and before
                // a recreated CRD can start a new feed (this handler runs in the order of the CRD watch's events).
                stopped.Subscription.Dispose();
                index.Replace(stopped.Source.Kind, []);

                // Its objects went with it: deletions waiting for a list that will not come look again now.
                EndListing(stopped);
                _ = StopAsync(stopped);
            }

            return;
        }

        Feed? replaced = null;
        lock (gate)
        {
            // A feed whose run ended found its version not served; a changed CRD may serve it now. One still reading the
            // CRD may have read it before this change: it reads it again rather than give up on an outdated answer.
            if (feeds.TryGetValue(name, out replaced) && !replaced.Run.IsCompleted && !replaced.Check.GaveUp)
            {
                replaced.Check.ChangedMeanwhile = true;
                return;
            }

            // Events before the first sync come from the initial list: CRDs that existed when the operator started.
            feeds[name] = Start(source, foundAtStart: !definitions.HasSynced);
        }

        if (replaced is not null)
        {
            EndListing(replaced);
            replaced.Subscription.Dispose();
            replaced.Stop.Dispose();
        }
    }

    private Feed Start(UsageSource<UntypedObject> source, bool foundAtStart)
    {
        // Controllers waited at start for the kinds found then; nobody waits for a later one, so deletions must.
        var listing = foundAtStart ? null : scope.Kinds.Begin(source.Kind, source.Resource.DisplayName);
        // Tasks and Pipelines also of the namespaces whose definitions runs reach through the cluster resolver.
        var namespaces = UsageKinds.IsReachableFromOtherNamespaces(source.Kind) ? scope.Definitions : scope.Namespaces;
        var options = source.InformerOptions(watchNamespace, namespaces);
        if (listing is not null)
        {
            options = options with { ListFailed = problem => scope.Kinds.Failed(listing, problem) };
        }

        var informer = new Informer<UntypedObject>(
            api,
            source.Resource,
            options,
            time,
            loggers.CreateLogger($"Passbox.Operator.Runtime.Informer.{source.InformerName}"));
        var subscription = source.Feed(informer, index);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var check = new ServedCheck();
        var run = Task.Run(() => RunIfServedAsync(source, informer, check, stop.Token), CancellationToken.None);
        var feed = new Feed(source, informer, subscription, stop, run, foundAtStart, check, listing);
        if (listing is not null)
        {
            _ = EndListingWhenSettledAsync(feed);
        }

        return feed;
    }

    /// <summary>Listed (the index holds the kind's objects by then), or the run ended (not served, stopped): nothing to wait for.</summary>
    private async Task EndListingWhenSettledAsync(Feed feed)
    {
        await Task.WhenAny(feed.Informer.WaitForSyncAsync(CancellationToken.None), feed.Run).ConfigureAwait(false);
        EndListing(feed);
    }

    private void EndListing(Feed feed)
    {
        if (feed.Listing is { } listing)
        {
            scope.Kinds.End(listing);
        }
    }

    private async Task RunIfServedAsync(UsageSource<UntypedObject> source, Informer<UntypedObject> informer, ServedCheck check, CancellationToken cancellationToken)
    {
        var resource = source.Resource;
        while (true)
        {
            bool served;
            try
            {
                served = await ServesAsync(resource, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return; // Stopping, as the informer itself would.
            }

            if (served)
            {
                break;
            }

            bool changed;
            lock (gate)
            {
                // Decided under the lock OnDefinitionChanged takes: a change either arrived before (read again) or finds
                // this feed given up and starts a new one. None falls in between.
                changed = check.ChangedMeanwhile;
                check.ChangedMeanwhile = false;
                check.GaveUp = !changed;
            }

            if (changed)
            {
                logger.LogInformation("CRD {Definition} changed while it was read; reading it again", resource.DisplayName);
                continue;
            }

            logger.LogWarning(
                "CRD {Definition} does not serve version {Version}; {Kind} objects are not watched and do not block deletions until it does",
                resource.DisplayName,
                resource.Version,
                source.Kind);
            return;
        }

        logger.LogInformation("CRD {Definition} exists; watching {Kind} objects for in-use protection", resource.DisplayName, source.Kind);
        await informer.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the CRD serves the version watched. Any answer but a clear "no" (or 404: deleted meanwhile) counts as yes:
    /// the informer then retries on its own, and a deletion waits rather than being let through on a guess.
    /// </summary>
    private async Task<bool> ServesAsync(ResourceDescriptor resource, CancellationToken cancellationToken)
    {
        try
        {
            var definition = await api.GetAsync<JsonNode>(CustomResourceDefinitions.ItemPath(new ObjectKey(null, resource.DisplayName)), cancellationToken)
                .ConfigureAwait(false);
            return definition?["spec"]?["versions"] is not JsonArray versions
                || versions.Any(version => (string?)version?["name"] == resource.Version && (bool?)version?["served"] == true);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return false;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // A request timeout is an OperationCanceledException too, but only stopping may end the feed.
            logger.LogWarning(e, "Could not read CRD {Definition}; watching {Plural} anyway", resource.DisplayName, resource.Plural);
            return true;
        }
    }

    private async Task StopAsync(Feed feed)
    {
        try
        {
            await feed.Stop.CancelAsync().ConfigureAwait(false);
            await feed.Run.ConfigureAwait(false);
            feed.Stop.Dispose();
            logger.LogInformation("CRD {Definition} deleted; stopped watching {Kind} objects", feed.Source.Resource.DisplayName, feed.Source.Kind);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Stopping the watch of {Definition} failed", feed.Source.Resource.DisplayName);
        }
    }

    private Feed[] Snapshot()
    {
        lock (gate)
        {
            return [.. feeds.Values];
        }
    }

    /// <summary>CRDs are large (schemas, last-applied annotations); only the name matters here.</summary>
    private static PartialObjectMetadata NameOnly(PartialObjectMetadata definition) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = definition.Metadata.Name,
            ResourceVersion = definition.Metadata.ResourceVersion,
            Uid = definition.Metadata.Uid,
        },
    };

    private sealed record Feed(
        UsageSource<UntypedObject> Source,
        Informer<UntypedObject> Informer,
        IDisposable Subscription,
        CancellationTokenSource Stop,
        Task Run,
        bool FoundAtStart,
        ServedCheck Check,
        KindListing? Listing);

    /// <summary>The CRD check of one feed; both fields are read and written under <see cref="gate"/>.</summary>
    private sealed class ServedCheck
    {
        /// <summary>The CRD changed since the feed started or last decided to read it again (a change may precede the read: one read too many).</summary>
        public bool ChangedMeanwhile { get; set; }

        /// <summary>The check found the version not served, with no change since: the run ends.</summary>
        public bool GaveUp { get; set; }
    }
}
