using System.Text;
using k8s.Models;
using Passbox.Operator.Publishing;

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
}
