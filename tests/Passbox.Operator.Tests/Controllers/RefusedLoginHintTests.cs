using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.ClusterCredentials;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A refused login's message names the fields and the Secret key it came from, and when it is tried again: the server
/// only says "access denied", and a password fixed on the server alone is not looked at again for an interval.
/// </summary>
public sealed class RefusedLoginHintTests
{
    private static readonly ValidationOutcome Refused = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "Access denied for 'app' at db:3306.");

    [Fact]
    public void A_refused_password_names_its_Secret_key_and_the_interval()
    {
        var message = RefusedLoginHint.Add(Refused, Credential(c => c.Validation = new ValidationSettings { Interval = "30m" })).Message;

        message.Should().Be("Access denied for 'app' at db:3306. The login uses spec.username and the password in Secret team/app-input key \"password\" " +
            "(spec.passwordSecretRef); it is not tried again before validation.interval (30m) unless the spec or that Secret changes, " +
            "so a password changed on the server alone is noticed only then.");
    }

    [Fact]
    public void A_refused_API_key_names_its_Secret_key_and_interval_0_says_only_a_change_brings_the_next_check()
    {
        var message = RefusedLoginHint.Add(Refused, Credential(c =>
        {
            c.Engine = ClusterEngine.Milvus;
            c.Username = null;
            c.PasswordSecretRef = null;
            c.ApiKeySecretRef = new SecretKeyReference { Name = "zilliz", Key = "apiKey" };
            c.Validation = new ValidationSettings { Interval = "0" };
        })).Message;

        message.Should().Contain("The login uses the API key in Secret team/zilliz key \"apiKey\" (spec.apiKeySecretRef)")
            .And.Contain("tried again only when the spec or that Secret changes (validation.interval is 0)");
    }

    [Fact]
    public void Other_failures_and_managed_users_are_left_as_they_are()
    {
        var unreachable = ValidationOutcome.Failure(ValidationReasons.Unreachable, "Cannot connect to db:3306.");
        RefusedLoginHint.Add(unreachable, Credential()).Should().BeSameAs(unreachable);
        RefusedLoginHint.Add(Refused, Credential(c => c.Provisioning = new UserProvisioning { AdminCredentialRef = new LocalCredentialReference { Name = "root" } }))
            .Should().BeSameAs(Refused, "Passbox sets a managed user's password itself");
    }

    private static ClusterCredential Credential(Action<ClusterCredentialSpec>? change = null)
    {
        var credential = new ClusterCredential
        {
            Metadata = new V1ObjectMeta { Name = "app", NamespaceProperty = "team" },
            Spec = new ClusterCredentialSpec
            {
                Engine = ClusterEngine.MySQL,
                Endpoint = new DatabaseEndpoint { Host = "db" },
                Username = "app",
                PasswordSecretRef = new SecretKeyReference { Name = "app-input", Key = "password" },
            },
        };
        change?.Invoke(credential.Spec);
        return credential;
    }
}
