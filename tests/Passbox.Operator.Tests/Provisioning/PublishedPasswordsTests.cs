using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class PublishedPasswordsTests
{
    private static ClusterCredential Credential() => new()
    {
        Metadata = new V1ObjectMeta { Name = "orders", NamespaceProperty = "team", Uid = "uid-of-orders" },
        Status = new ClusterCredentialStatus { SecretName = "orders" },
    };

    /// <summary>The credential's Secret as found by name: labelled as the credential's, owned by <paramref name="ownerUid"/>.</summary>
    private static V1Secret Labelled(string? ownerUid) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = "orders",
            NamespaceProperty = "team",
            Labels = new Dictionary<string, string> { [ApiGroup.CredentialLabel] = "orders" },
            OwnerReferences = ownerUid is null ? null :
                [new V1OwnerReference { ApiVersion = "passbox.dev/v1alpha1", Kind = "ClusterCredential", Name = "orders", Uid = ownerUid, Controller = true }],
        },
        Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("the-published-password") },
    };

    private static Task<string?> ReadAsync(V1Secret secret)
    {
        var server = new FakeApiServer(_ => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(secret)));
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server);
        return new PublishedPasswords(client).ReadAsync(Credential(), CancellationToken.None);
    }

    [Fact]
    public async Task The_Secret_the_credential_published_is_believed()
    {
        (await ReadAsync(Labelled("uid-of-orders"))).Should().Be("the-published-password");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("uid-of-an-earlier-orders")]
    public async Task A_Secret_that_only_carries_the_label_is_not_believed(string? ownerUid)
    {
        (await ReadAsync(Labelled(ownerUid))).Should().BeNull("anyone who may create Secrets can set a label; only Passbox wrote the owner reference");
    }

    [Fact]
    public void An_admin_Secret_is_Passbox_s_only_with_the_label_and_the_admin_s_owner_reference()
    {
        var admin = Credential();

        PublishedSecrets.BelongTo(Labelled("uid-of-orders"), admin).Should().BeTrue();
        PublishedSecrets.BelongTo(Labelled("someone-else"), admin).Should().BeFalse();
        var unlabelled = Labelled("uid-of-orders");
        unlabelled.Metadata.Labels = null;
        PublishedSecrets.BelongTo(unlabelled, admin).Should().BeFalse();
    }
}
