using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// When a source Secret is read from the API server and when from memory: the copy is answered only while the
/// source-Secret informer holds the Secret at the uid and resourceVersion it was read at.
/// </summary>
public sealed class SourceSecretReaderTests
{
    private static readonly SecretKeyReference Password = new() { Name = "db", Key = "password" };
    private static readonly ObjectKey Key = new("team", "db");

    private readonly FakeInformer<PartialObjectMetadata> informer = new(ResourceDescriptor.Secrets);
    private readonly FakeApiServer server;
    private readonly SourceSecretCache cache;
    private readonly SourceSecretReader reader;
    private V1Secret? live = Secret("uid-1", "10", "first");

    public SourceSecretReaderTests()
    {
        server = new FakeApiServer(_ => live is null
            ? FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound")
            : FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(live)));
        cache = new SourceSecretCache(informer);
        reader = new SourceSecretReader(Client(server), cache);
    }

    private int Gets => server.Requests.Count(r => r.Method == HttpMethod.Get && r.Path == "/api/v1/namespaces/team/secrets/db");

    [Fact]
    public async Task Reads_of_an_unchanged_Secret_after_the_first_are_answered_from_memory_with_the_same_version()
    {
        var first = await reader.ReadAsync("team", Password, CancellationToken.None);
        var second = await reader.ReadAsync("team", Password, CancellationToken.None);
        var otherKey = await reader.ReadAsync("team", new SecretKeyReference { Name = "db", Key = "user" }, CancellationToken.None);

        Gets.Should().Be(1);
        first.Text.Should().Be("first");
        second.Text.Should().Be("first");
        second.Version.Should().Be("uid-1:10").And.Be(first.Version);
        otherKey.Text.Should().Be("app");
    }

    [Fact]
    public async Task A_Secret_the_informer_watched_is_answered_from_memory_while_it_holds_the_same_version()
    {
        informer.Apply(Identity("uid-1", "10"));
        await reader.ReadAsync("team", Password, CancellationToken.None);
        var second = await reader.ReadAsync("team", Password, CancellationToken.None);

        Gets.Should().Be(1);
        second.Version.Should().Be("uid-1:10");
    }

    [Fact]
    public async Task A_changed_resourceVersion_is_read_again()
    {
        await reader.ReadAsync("team", Password, CancellationToken.None);
        live = Secret("uid-1", "11", "second");
        informer.Apply(Identity("uid-1", "11"));

        var after = await reader.ReadAsync("team", Password, CancellationToken.None);
        var again = await reader.ReadAsync("team", Password, CancellationToken.None);

        Gets.Should().Be(2);
        after.Text.Should().Be("second");
        after.Version.Should().Be("uid-1:11");
        again.Text.Should().Be("second");
    }

    [Fact]
    public async Task A_Secret_deleted_and_created_again_is_read_again()
    {
        await reader.ReadAsync("team", Password, CancellationToken.None);
        informer.Delete(Identity("uid-1", "10"));
        live = Secret("uid-2", "12", "recreated");
        informer.Apply(Identity("uid-2", "12"));

        var after = await reader.ReadAsync("team", Password, CancellationToken.None);

        Gets.Should().Be(2);
        after.Text.Should().Be("recreated");
        after.Version.Should().Be("uid-2:12");
    }

    [Fact]
    public async Task A_copy_is_not_answered_when_the_informer_holds_the_Secret_at_another_uid()
    {
        // Not a sequence the watch produces (it reports the deletion in between), but the copy must not depend on that.
        await reader.ReadAsync("team", Password, CancellationToken.None);
        informer.Cache.RemoveProvisional(Key);
        live = Secret("uid-2", "10", "recreated");
        ForceHold(Identity("uid-2", "10"));

        var after = await reader.ReadAsync("team", Password, CancellationToken.None);

        Gets.Should().Be(2);
        after.Text.Should().Be("recreated");
    }

    [Fact]
    public async Task A_deleted_Secret_is_forgotten_and_its_absence_is_not_remembered()
    {
        await reader.ReadAsync("team", Password, CancellationToken.None);
        live = null;
        informer.Delete(Identity("uid-1", "10"));

        cache.Count.Should().Be(0);
        informer.Cache.Count.Should().Be(0);
        var missing = await reader.ReadAsync("team", Password, CancellationToken.None);
        live = Secret("uid-3", "14", "back");
        var back = await reader.ReadAsync("team", Password, CancellationToken.None);

        Gets.Should().Be(3);
        missing.Found.Should().BeFalse();
        missing.Problem.Should().Contain("does not exist");
        back.Text.Should().Be("back");
        cache.Count.Should().Be(1);
    }

    [Fact]
    public async Task A_Secret_the_informer_stops_holding_is_forgotten()
    {
        await reader.ReadAsync("team", Password, CancellationToken.None);

        // No credential reads it any more: the informer reports its next change but does not hold it.
        live = Secret("uid-1", "11", "second");
        informer.Reject(Identity("uid-1", "11"));

        cache.Count.Should().Be(0);
        informer.Cache.Count.Should().Be(0);
        var after = await reader.ReadAsync("team", Password, CancellationToken.None);
        Gets.Should().Be(2);
        after.Text.Should().Be("second");
    }

    [Fact]
    public async Task A_deletion_reported_while_a_read_is_in_flight_leaves_nothing_to_answer_from()
    {
        var reads = 0;
        var deleting = new FakeApiServer(_ =>
        {
            if (Interlocked.Increment(ref reads) > 1)
            {
                return FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound");
            }

            // The Secret is deleted after the server answered, and the watch reports it before the read ends.
            informer.Delete(Identity("uid-1", "10"));
            return FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(Secret("uid-1", "10", "first")));
        });
        var racing = new SourceSecretReader(Client(deleting), cache);

        var during = await racing.ReadAsync("team", Password, CancellationToken.None);
        var after = await racing.ReadAsync("team", Password, CancellationToken.None);

        during.Text.Should().Be("first");
        after.Found.Should().BeFalse("the Secret is gone; a copy of it must not outlive the deletion");
        reads.Should().Be(2);
        informer.Cache.Count.Should().Be(0);
    }

    [Fact]
    public async Task Until_the_informer_has_synced_every_read_asks_the_server()
    {
        var unsynced = new SourceSecretReader(
            Client(server),
            new SourceSecretCache(new FakeInformer<PartialObjectMetadata>(ResourceDescriptor.Secrets) { HasSynced = false }));

        await unsynced.ReadAsync("team", Password, CancellationToken.None);
        await unsynced.ReadAsync("team", Password, CancellationToken.None);

        Gets.Should().Be(2);
    }

    [Fact]
    public async Task Neither_a_value_nor_the_kept_copy_shows_the_password()
    {
        var value = await reader.ReadAsync("team", Password, CancellationToken.None);
        var snapshot = cache.Find(Key);

        snapshot.Should().NotBeNull();
        value.ToString().Should().NotContain("first");
        snapshot!.ToString().Should().NotContain("first").And.Contain("uid-1:10");
    }

    [Fact]
    public async Task A_value_that_is_not_UTF8_is_refused_by_name_instead_of_read_with_replaced_bytes()
    {
        // "Zürich9" in Latin-1: read as UTF-8 the 0xFC would become U+FFFD, a password other than the Secret's.
        live = Secret("uid-1", "10", "first");
        live.Data["password"] = [.. "Z"u8, 0xFC, .. "rich9"u8];

        var value = await reader.ReadAsync("team", Password, CancellationToken.None);
        var other = await reader.ReadAsync("team", new SecretKeyReference { Name = "db", Key = "user" }, CancellationToken.None);

        value.Found.Should().BeFalse();
        value.Problem.Should().Contain("team/db key \"password\" is not UTF-8 text");
        value.Problem!.Contains("rich9", StringComparison.Ordinal).Should().BeFalse("the problem must not quote the value");
        other.Text.Should().Be("app");
    }

    private static Kubernetes Client(FakeApiServer api) => new(new KubernetesClientConfiguration { Host = "http://api.test" }, api);

    /// <summary>Puts an object in the informer's cache without an event, as no watch would.</summary>
    private void ForceHold(PartialObjectMetadata secret) => informer.Cache.TryAddProvisional(secret).Should().BeTrue();

    private static PartialObjectMetadata Identity(string uid, string resourceVersion) => new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "team", Uid = uid, ResourceVersion = resourceVersion },
    };

    private static V1Secret Secret(string uid, string resourceVersion, string password) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "team", Uid = uid, ResourceVersion = resourceVersion },
        Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes(password), ["user"] = Encoding.UTF8.GetBytes("app") },
    };
}
