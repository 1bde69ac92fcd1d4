using k8s.Models;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// Which source Secrets the source-Secret informer holds: those a credential reads, and no longer those whose last
/// reader was deleted or stopped reading them.
/// </summary>
public sealed class ReferencedSourceSecretsTests
{
    private const string Index = "sources";
    private const string Reads = "test/reads";

    [Fact]
    public void A_source_is_reconsidered_once_its_last_reader_is_deleted_or_reads_another()
    {
        var credentials = new FakeInformer<Widget>(ResourceDescriptor.For<Widget>());
        credentials.Cache.AddIndex(Index, credential => SourcesOf(credential).Select(key => $"{key.Namespace}/{key.Name}"));
        var referenced = new ReferencedSourceSecrets();
        referenced.Track(credentials.Cache, Index);
        var sources = new RecordingSources(referenced);
        using var forgetting = ReferencedSourceSecrets.ForgetUnreadSources(credentials, sources, SourcesOf);

        credentials.Apply(Reading("one", "1", "s1", "s2"));
        credentials.Apply(Reading("two", "2", "s2"));
        credentials.Apply(Reading("one", "3", "s1", "s2"));
        sources.Asked.Should().BeEmpty("nothing stopped being read");

        credentials.Apply(Reading("one", "4", "s1"));
        sources.Asked.Should().Equal(["ns/s2 still read"], "another credential reads s2: the informer keeps it");

        credentials.Delete(Reading("two", "2", "s2"));
        credentials.Delete(Reading("one", "4", "s1"));
        sources.Asked.Should().Equal(["ns/s2 still read", "ns/s2 unread", "ns/s1 unread"]);
    }

    [Fact]
    public void A_change_of_the_same_generation_such_as_a_status_write_s_echo_reads_no_sources()
    {
        // Every credential's status write comes back as an update of the same generation on the way to Ready: the spec,
        // which names the sources, is as it was, so there is nothing to reconsider and no reason to compute the sources.
        var credentials = new FakeInformer<Widget>(ResourceDescriptor.For<Widget>());
        var sources = new RecordingSources(new ReferencedSourceSecrets());
        var computed = 0;
        using var forgetting = ReferencedSourceSecrets.ForgetUnreadSources(credentials, sources, credential =>
        {
            computed++;
            return SourcesOf(credential);
        });
        var first = Reading("one", "1", "s1");
        first.Metadata.Generation = 1;
        credentials.Apply(first);
        var echo = Reading("one", "2", "s1");
        echo.Metadata.Generation = 1;
        credentials.Apply(echo);
        computed.Should().Be(0);

        var edited = Reading("one", "3", "s2");
        edited.Metadata.Generation = 2;
        credentials.Apply(edited);
        computed.Should().BeGreaterThan(0, "a new generation may name other sources");
        sources.Asked.Should().Equal(["ns/s1 unread"]);
    }

    private static Widget Reading(string name, string resourceVersion, params string[] secrets)
    {
        var credential = Widget.Create(name, resourceVersion);
        credential.Metadata.Annotations = new Dictionary<string, string> { [Reads] = string.Join(',', secrets) };
        // The sources stand for what the spec names: each version here is an edit of it, a new generation.
        credential.Metadata.Generation = long.Parse(resourceVersion, System.Globalization.CultureInfo.InvariantCulture);
        return credential;
    }

    private static IEnumerable<ObjectKey> SourcesOf(Widget credential) =>
        credential.Metadata.Annotations?.TryGetValue(Reads, out var reads) == true
            ? reads.Split(',').Select(name => new ObjectKey(credential.Metadata.NamespaceProperty, name))
            : [];

    /// <summary>A source-Secret informer that notes what it is asked to reconsider, and whether its keep filter still wants it then.</summary>
    private sealed class RecordingSources(ReferencedSourceSecrets referenced) : IInformer<PartialObjectMetadata>
    {
        public List<string> Asked { get; } = [];

        public ResourceDescriptor Resource => ResourceDescriptor.Secrets;

        public ObjectCache<PartialObjectMetadata> Cache { get; } = new();

        public bool HasSynced => true;

        public string? SyncProblem => null;

        public Task WaitForSyncAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task RunAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public IDisposable Subscribe(Action<InformerEvent<PartialObjectMetadata>> handler) => throw new NotSupportedException();

        public void Reconsider(ObjectKey key)
        {
            var secret = new PartialObjectMetadata { Metadata = new V1ObjectMeta { NamespaceProperty = key.Namespace, Name = key.Name } };
            Asked.Add($"{key.Namespace}/{key.Name} {(referenced.IsReferenced(secret) ? "still read" : "unread")}");
        }
    }
}
