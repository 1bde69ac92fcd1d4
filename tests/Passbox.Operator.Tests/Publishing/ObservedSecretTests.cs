using System.Text;
using k8s.Models;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Publishing;

public sealed class ObservedSecretTests
{
    private static SecretPayload Payload(string password = "pw") => new(
        "conn",
        "Opaque",
        new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes(password), ["host"] = "db"u8.ToArray() },
        new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "passbox" },
        new Dictionary<string, string>());

    private static V1Secret Live(SecretPayload payload, Action<V1Secret>? change = null)
    {
        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = payload.Name,
                Uid = "s1",
                Labels = new Dictionary<string, string>(payload.Labels) { ["added-by-someone"] = "x" },
                Annotations = new Dictionary<string, string>(payload.Annotations)
                {
                    ["passbox.dev/data-hash"] = payload.DataHash,
                    ["passbox.dev/metadata-hash"] = payload.MetadataHash,
                },
                OwnerReferences = [new V1OwnerReference { Uid = "owner-1", Name = "c", Kind = "ClusterCredential", ApiVersion = "passbox.dev/v1alpha1" }],
            },
            Type = payload.Type,
            Data = payload.Data.ToDictionary(p => p.Key, p => p.Value),
        };
        change?.Invoke(secret);
        return secret;
    }

    [Fact]
    public void A_secret_as_published_matches_even_with_extra_labels()
    {
        var payload = Payload();

        ObservedSecret.From(Live(payload)).Matches(payload).Should().BeTrue();
    }

    [Fact]
    public void A_value_edited_by_hand_does_not_match()
    {
        var payload = Payload();
        var edited = Live(payload, s => s.Data["password"] = "tampered"u8.ToArray());

        ObservedSecret.From(edited).Matches(payload).Should().BeFalse();
    }

    [Fact]
    public void A_data_key_added_by_someone_else_still_matches()
    {
        // Passbox's apply never removes a key another field manager owns: calling it drift would write on every pass.
        var payload = Payload();
        var added = Live(payload, s => s.Data["added-by-policy"] = "x"u8.ToArray());

        ObservedSecret.From(added).Matches(payload).Should().BeTrue();
    }

    [Fact]
    public void A_data_key_added_by_someone_else_still_matches_through_the_cache_transform()
    {
        var payload = Payload();
        var informer = new FakeInformer<V1Secret>(Operator.Runtime.Api.ResourceDescriptor.Secrets);
        var cache = new GeneratedSecretCache(informer);
        var live = Live(payload, s =>
        {
            s.Metadata.NamespaceProperty = "team";
            s.Data["added-by-policy"] = "x"u8.ToArray();
        });

        informer.Apply(GeneratedSecretCache.HashData(live));

        live.Data.Should().BeNull("the cache keeps no credential material");
        cache.Find("team", "conn")!.Matches(payload).Should().BeTrue();
        informer.Apply(GeneratedSecretCache.HashData(Live(payload, s =>
        {
            s.Metadata.NamespaceProperty = "team";
            s.Data["added-by-policy"] = "x"u8.ToArray();
            s.Data["password"] = "tampered"u8.ToArray();
        })));
        cache.Find("team", "conn")!.Matches(payload).Should().BeFalse("a value of Passbox's was edited");
    }

    [Fact]
    public void A_data_key_of_passbox_deleted_by_hand_does_not_match()
    {
        var payload = Payload();
        var deleted = Live(payload, s => s.Data.Remove("host"));

        ObservedSecret.From(deleted).Matches(payload).Should().BeFalse();
    }

    [Fact]
    public void A_data_key_passbox_stopped_generating_does_not_match()
    {
        var published = Payload();
        var fewer = new SecretPayload(published.Name, published.Type,
            new Dictionary<string, byte[]> { ["password"] = published.Data["password"] }, published.Labels, published.Annotations);

        // The recorded data hash says the last write had "host" as well: it has to go, with an apply.
        ObservedSecret.From(Live(published)).Matches(fewer).Should().BeFalse();
    }

    [Fact]
    public void The_key_digests_tell_keys_and_values_apart_and_hold_no_value()
    {
        var digests = SecretDataHash.PerKey(new Dictionary<string, byte[]> { ["password"] = "hunter2"u8.ToArray(), ["a"] = "x"u8.ToArray() });

        digests.Should().MatchRegex("^a=[0-9a-f]{16};password=[0-9a-f]{16}$");
        digests.Should().NotContain("hunter2");
        SecretDataHash.ContainsEvery(digests, SecretDataHash.PerKey(new Dictionary<string, byte[]> { ["password"] = "hunter2"u8.ToArray() })).Should().BeTrue();
        SecretDataHash.ContainsEvery(digests, SecretDataHash.PerKey(new Dictionary<string, byte[]> { ["password"] = "hunter3"u8.ToArray() })).Should().BeFalse();
        SecretDataHash.ContainsEvery(digests, SecretDataHash.PerKey(new Dictionary<string, byte[]> { ["b"] = "x"u8.ToArray() })).Should().BeFalse();
    }

    [Fact]
    public void A_removed_managed_label_does_not_match()
    {
        var payload = Payload();
        var edited = Live(payload, s => s.Metadata.Labels.Remove("app.kubernetes.io/managed-by"));

        ObservedSecret.From(edited).Matches(payload).Should().BeFalse();
    }

    [Fact]
    public void A_label_or_annotation_passbox_no_longer_wants_does_not_match_even_with_the_same_data()
    {
        var plain = Payload();
        var withJenkins = new SecretPayload(
            plain.Name,
            plain.Type,
            plain.Data,
            new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "passbox", ["jenkins.io/credentials-type"] = "usernamePassword" },
            new Dictionary<string, string> { ["jenkins.io/credentials-id"] = "conn" });
        var published = ObservedSecret.From(Live(withJenkins));
        var withoutJenkins = plain;

        published.Matches(withJenkins).Should().BeTrue();
        withoutJenkins.DataHash.Should().Be(withJenkins.DataHash);
        published.Matches(withoutJenkins).Should().BeFalse("Jenkins' label and annotation must be removed");
    }

    [Fact]
    public void A_secret_written_before_the_metadata_hash_existed_does_not_match()
    {
        var payload = Payload();
        var old = Live(payload, s => s.Metadata.Annotations.Remove("passbox.dev/metadata-hash"));

        ObservedSecret.From(old).Matches(payload).Should().BeFalse();
    }

    [Fact]
    public void Ownership_is_by_owner_uid()
    {
        var observed = ObservedSecret.From(Live(Payload()));

        observed.IsOwnedBy("owner-1").Should().BeTrue();
        observed.IsOwnedBy("owner-2").Should().BeFalse();
    }

    [Fact]
    public void The_data_hash_depends_on_key_boundaries_not_just_the_concatenation()
    {
        var a = new Dictionary<string, byte[]> { ["ab"] = "c"u8.ToArray() };
        var b = new Dictionary<string, byte[]> { ["a"] = "bc"u8.ToArray() };

        SecretDataHash.Compute(a).Should().NotBe(SecretDataHash.Compute(b));
        SecretDataHash.Compute(a).Should().Be(SecretDataHash.Compute(new Dictionary<string, byte[]> { ["ab"] = "c"u8.ToArray() }));
    }

    [Fact]
    public void A_key_edited_by_hand_is_named_without_its_value()
    {
        var payload = Payload("unit-test-pw");
        var edited = ObservedSecret.From(Live(payload, s => s.Data["password"] = Encoding.UTF8.GetBytes("typed-by-hand")));

        var edits = edited.HandEdits(payload);

        edits.Should().Be("data key \"password\" had been edited or removed by hand");
        edits.Should().NotContain("typed-by-hand").And.NotContain("unit-test-pw");
    }

    [Fact]
    public void Removed_keys_and_a_changed_label_are_all_named()
    {
        var payload = Payload();
        var edited = ObservedSecret.From(Live(payload, s =>
        {
            s.Data.Remove("password");
            s.Data.Remove("host");
            s.Metadata.Labels["app.kubernetes.io/managed-by"] = "someone";
        }));

        edited.HandEdits(payload).Should().Be("data keys \"host\", \"password\" and label \"app.kubernetes.io/managed-by\" had been edited or removed by hand");
    }

    [Fact]
    public void New_data_that_Passbox_asks_for_is_no_hand_edit()
    {
        var live = ObservedSecret.From(Live(Payload("old-pw")));

        live.HandEdits(Payload("new-pw")).Should().BeNull("the Secret holds what Passbox wrote; Passbox now asks for more");
        ObservedSecret.From(Live(Payload())).HandEdits(Payload()).Should().BeNull("nothing differs");
    }
}
