using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The checks running now, each with the inputs it logs in with, so that a newer version of those inputs cancels it at
/// once. The queue never reconciles one credential twice at a time: without this, a user who fixes a wrong host while the
/// check of the old one hangs would wait up to validation.timeout for the fix to be tried, and then see the old check's
/// Timeout reported after the fix. The informers' event handlers call in here (see <see cref="CancelOnChange{T}"/> and
/// <see cref="CancelOnSourceChange"/>); the cancelled pass ends without writing anything (<see cref="CheckSupersededException"/>),
/// and the same event has queued the credential again.
/// </summary>
public sealed class RunningChecks
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, RunningCheck> running = new(StringComparer.Ordinal);

    /// <summary>
    /// Credentials whose last check a source Secret's change cancelled. Their next check is not cancelled that way: the
    /// source informer sees metadata only, so every update of a source Secret (an annotation another tool touches
    /// included) counts as new, and one updated more often than a check takes would otherwise cancel every check and
    /// leave the credential reporting nothing. So at least every other check ends and is reported.
    /// </summary>
    private readonly HashSet<string> cutBySource = new(StringComparer.Ordinal);

    /// <summary>How many checks run now.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return running.Count;
            }
        }
    }

    /// <summary>
    /// Records a check of <paramref name="credential"/> with these inputs until the result is disposed. Its token is
    /// cancelled when the inputs are superseded.
    /// </summary>
    public RunningCheck Begin(IKubernetesObject<V1ObjectMeta> credential, string loginRelevantSpec, IReadOnlyList<SourceValue> sources)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(sources);
        var key = CheckMemory.KeyOf(credential);
        var versions = sources.GroupBy(source => source.Reference.Name, StringComparer.Ordinal)
            .ToDictionary(read => read.Key, read => read.First().Version, StringComparer.Ordinal);
        RunningCheck check;
        lock (gate)
        {
            check = new RunningCheck(this, key, credential.Metadata.NamespaceProperty ?? string.Empty, loginRelevantSpec, versions,
                sourceChangesCancel: !cutBySource.Remove(key));
            running[check.Key] = check;
        }

        return check;
    }

    /// <summary>Cancels the running check of a credential whose login-relevant spec or source Secrets changed.</summary>
    public IDisposable CancelOnChange<T>(IInformer<T> primary, ICredentialKind<T> kind)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(kind);
        return primary.Subscribe(change =>
        {
            if (change.Type == InformerEventType.Deleted)
            {
                lock (gate)
                {
                    cutBySource.Remove(CheckMemory.KeyOf(change.Current));
                }
            }

            if (change.Type != InformerEventType.Updated || Find(CheckMemory.KeyOf(change.Current)) is not { } check)
            {
                return;
            }

            // Only a change of what the login depends on: an edit of anything else (the generated Secret's name, say)
            // lets the check finish, since the next pass would only run the same login again.
            var credential = change.Current;
            if (kind.LoginRelevantSpec(credential) != check.LoginRelevantSpec
                || !kind.SourceReferences(credential).Select(reference => reference.Secret.Name).ToHashSet(StringComparer.Ordinal).SetEquals(check.SourceVersions.Keys))
            {
                check.Supersede();
            }
        });
    }

    /// <summary>Cancels the running checks that read a source Secret which changed or went away since they read it.</summary>
    public IDisposable CancelOnSourceChange(IInformer<PartialObjectMetadata> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        return sources.Subscribe(change =>
        {
            var meta = change.Current.Metadata;
            var version = change.Type == InformerEventType.Deleted ? null : $"{meta.Uid}:{meta.ResourceVersion}";
            List<RunningCheck> readers;
            lock (gate)
            {
                if (running.Count == 0)
                {
                    return;
                }

                readers = [.. running.Values.Where(check => check.SourceChangesCancel && check.Namespace == meta.NamespaceProperty
                    && check.SourceVersions.TryGetValue(meta.Name, out var read) && read != version)];
                cutBySource.UnionWith(readers.Select(reader => reader.Key));
            }

            foreach (var reader in readers)
            {
                reader.Supersede();
            }
        });
    }

    private RunningCheck? Find(string key)
    {
        lock (gate)
        {
            return running.GetValueOrDefault(key);
        }
    }

    internal void End(RunningCheck check)
    {
        lock (gate)
        {
            if (running.TryGetValue(check.Key, out var current) && ReferenceEquals(current, check))
            {
                running.Remove(check.Key);
            }
        }
    }
}

/// <summary>One running check: its inputs, and the token that ends it when they are superseded.</summary>
public sealed class RunningCheck : IDisposable
{
    private readonly RunningChecks owner;
    private readonly CancellationTokenSource superseded = new();

    internal RunningCheck(RunningChecks owner, string key, string namespaceName, string loginRelevantSpec, IReadOnlyDictionary<string, string?> sourceVersions,
        bool sourceChangesCancel)
    {
        this.owner = owner;
        Key = key;
        Namespace = namespaceName;
        LoginRelevantSpec = loginRelevantSpec;
        SourceVersions = sourceVersions;
        SourceChangesCancel = sourceChangesCancel;
    }

    public string Key { get; }

    public string Namespace { get; }

    public string LoginRelevantSpec { get; }

    /// <summary>The <c>uid:resourceVersion</c> of each source Secret the check read, by name.</summary>
    public IReadOnlyDictionary<string, string?> SourceVersions { get; }

    /// <summary>False for the check right after one a source Secret's change cancelled: it ends and is reported.</summary>
    public bool SourceChangesCancel { get; }

    /// <summary>Cancelled once newer inputs supersede the check's.</summary>
    public CancellationToken Token => superseded.Token;

    /// <summary>True when newer inputs arrived and the check is not <see cref="Kept"/>: nothing of it is to be reported.</summary>
    public bool IsSuperseded => !Kept && superseded.IsCancellationRequested;

    /// <summary>The check changed the server and recorded it in the status: it is finished and reported whatever comes.</summary>
    public bool Kept { get; private set; }

    /// <summary>See <see cref="Kept"/>: the administrator created the user or changed its password or grants.</summary>
    internal void Keep() => Kept = true;

    internal void Supersede()
    {
        try
        {
            // Its callbacks on the thread pool: run here, in an informer's event handler, they would end the pass, and its
            // worker would go on to the next key, on the informer's thread, holding up the informer's events meanwhile.
            _ = superseded.CancelAsync().ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (ObjectDisposedException)
        {
            // Ended meanwhile: nothing left to cancel.
        }
    }

    public void Dispose()
    {
        owner.End(this);
        superseded.Dispose();
    }
}

/// <summary>
/// A check was cancelled because the credential's inputs changed while it ran (see <see cref="RunningChecks"/>): its
/// result would describe inputs the credential no longer has, so the pass ends without writing a condition or an event.
/// </summary>
public sealed class CheckSupersededException() : OperationCanceledException("the check was superseded by newer inputs");
