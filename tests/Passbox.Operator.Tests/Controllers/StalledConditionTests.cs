using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// Stalled, which kstatus (Flux health checks) reads as Failed: set only while Ready is False for a failure a person must
/// fix, never for one the operator retries by itself, and never on a healthy credential.
/// </summary>
public sealed class StalledConditionTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 29, 10, 0, 0, TimeSpan.Zero));

    /// <summary>ClusterCredential keeps the default of <see cref="ICredentialKind{T}.BacksOff"/>.</summary>
    private static readonly Func<string?, bool> ClusterBackoff = ValidationPlanner.IsTransient;

    private static readonly Func<string, string, bool> NothingMissing = (_, _) => false;

    private static readonly Func<string?, bool> PipelineBackoff = new PipelineCredentialKind(null!).BacksOff;

    [Theory]
    [InlineData(ValidationReasons.AuthenticationFailed)]
    [InlineData(ValidationReasons.AdminAuthenticationFailed)]
    [InlineData(ValidationReasons.TLSFailed)]
    [InlineData(ValidationReasons.TenantNotFound)]
    [InlineData(ValidationReasons.DatabaseNotFound)]
    [InlineData(ValidationReasons.Unsupported)]
    [InlineData(ValidationReasons.PermissionDenied)]
    [InlineData(ValidationReasons.InvalidKubeconfig)]
    [InlineData(ValidationReasons.ProtectedUser)]
    [InlineData(ValidationReasons.UserExists)]
    [InlineData(ValidationReasons.InvalidSpec)]
    [InlineData(ValidationReasons.ServerError)]
    [InlineData(ConditionReasons.SecretConflict)]
    [InlineData(ConditionReasons.SecretRejected)]
    [InlineData(ConditionReasons.SecretTooLarge)]
    public void A_failure_that_needs_a_person_is_stalled_with_Ready_s_reason_and_message(string reason)
    {
        var conditions = NotReady(reason, "what to fix");

        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().BeNull();

        var stalled = conditions.Find(ConditionTypes.Stalled);
        stalled.Should().NotBeNull();
        stalled!.Status.Should().Be("True");
        stalled.Reason.Should().Be(reason);
        stalled.Message.Should().Be("what to fix");
        stalled.ObservedGeneration.Should().Be(4);
    }

    [Theory]
    [InlineData(ValidationReasons.Unreachable)]
    [InlineData(ValidationReasons.Timeout)]
    [InlineData(ValidationReasons.AdminNotReady)]
    [InlineData(ConditionReasons.AdmissionWebhookFailed)]
    [InlineData(ConditionReasons.SecretWriteFailed)]
    [InlineData(ConditionReasons.Progressing)]
    [InlineData(ConditionReasons.WaitingForValidation)]
    public void A_failure_the_operator_retries_by_itself_stays_in_progress(string reason)
    {
        var conditions = NotReady(reason, "retrying");
        conditions.Set(ConditionTypes.Stalled, true, ValidationReasons.AuthenticationFailed, "from an earlier check");

        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().BeNull();

        conditions.Find(ConditionTypes.Stalled).Should().BeNull();
    }

    [Fact]
    public void A_pipeline_credential_s_TLS_failure_is_retried_with_backoff_so_it_is_not_stalled()
    {
        var conditions = NotReady(ValidationReasons.TLSFailed, "certificate not trusted");

        StalledCondition.Apply(conditions, PipelineBackoff, NothingMissing, time.GetUtcNow());

        conditions.Find(ConditionTypes.Stalled).Should().BeNull();
    }

    [Fact]
    public void A_ready_credential_carries_no_stalled_condition_and_loses_the_one_it_had()
    {
        var conditions = new ConditionSet(null, 4, time);
        conditions.Set(ConditionTypes.Ready, true, ValidationReasons.Validated, "Secret orders is ready");
        conditions.Set(ConditionTypes.Stalled, true, ValidationReasons.AuthenticationFailed, "from the failed check before");

        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().BeNull();

        conditions.ToList().Select(c => c.Type).Should().Equal(ConditionTypes.Ready);
    }

    [Fact]
    public void A_missing_source_Secret_is_waited_for_a_minute_before_it_counts_as_stalled()
    {
        var conditions = NotReady(ValidationReasons.SourceSecretMissing, "Secret team-a/orders-input does not exist");
        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().Be(StalledCondition.MissingGrace + CredentialPipeline.ShortestRecheck);

        time.Advance(TimeSpan.FromSeconds(20));
        var again = StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow());

        conditions.Find(ConditionTypes.Stalled).Should().Match<k8s.Models.V1Condition>(c => c.Status == "False" && c.Reason == ValidationReasons.SourceSecretMissing,
            "an External Secret or Sealed Secret applied with it may not have made it yet; kstatus reads only a True Stalled");
        again.Should().Be(TimeSpan.FromSeconds(40) + CredentialPipeline.ShortestRecheck);

        time.Advance(again!.Value);
        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().BeNull();
        conditions.Find(ConditionTypes.Stalled)!.Reason.Should().Be(ValidationReasons.SourceSecretMissing);
    }

    [Fact]
    public void A_source_Secret_renamed_while_Ready_was_already_False_gets_its_minute_too()
    {
        // Stalled for a refused password, an hour long; the fix points passwordSecretRef at a new Secret that External
        // Secrets makes a moment later. Ready stays False throughout, so its transition time is an hour old: the new
        // Secret's wait starts now, not then, or the fix would fail a Flux health check that passes seconds later.
        var conditions = NotReady(ValidationReasons.AuthenticationFailed, "refused");
        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow());
        time.Advance(TimeSpan.FromHours(1));

        var fixing = new ConditionSet(conditions.ToList(), 5, time);
        fixing.Set(ConditionTypes.Ready, false, ValidationReasons.SourceSecretMissing, "Secret team-a/orders-v2 does not exist");
        var again = StalledCondition.Apply(fixing, ClusterBackoff, NothingMissing, time.GetUtcNow());

        fixing.Find(ConditionTypes.Stalled).Should().Match<k8s.Models.V1Condition>(c => c.Status != "True", "kstatus would fail the health check at once");
        again.Should().Be(StalledCondition.MissingGrace + CredentialPipeline.ShortestRecheck);

        // Another Secret named while that one is waited for: its own minute.
        time.Advance(TimeSpan.FromSeconds(50));
        var renamed = new ConditionSet(fixing.ToList(), 6, time);
        renamed.Set(ConditionTypes.Ready, false, ValidationReasons.SourceSecretMissing, "Secret team-a/orders-v3 does not exist");
        StalledCondition.Apply(renamed, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().Be(StalledCondition.MissingGrace + CredentialPipeline.ShortestRecheck);

        time.Advance(StalledCondition.MissingGrace);
        var later = new ConditionSet(renamed.ToList(), 6, time);
        StalledCondition.Apply(later, ClusterBackoff, NothingMissing, time.GetUtcNow()).Should().BeNull();
        later.Find(ConditionTypes.Stalled).Should().Match<k8s.Models.V1Condition>(c => c.Status == "True" && c.Message == "Secret team-a/orders-v3 does not exist");
    }

    [Fact]
    public void A_managed_user_whose_admin_credential_does_not_exist_is_stalled_after_the_same_grace()
    {
        var user = new ClusterCredential
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "app", NamespaceProperty = "team-a" },
            Spec = new ClusterCredentialSpec { Provisioning = new UserProvisioning { AdminCredentialRef = new LocalCredentialReference { Name = "mysql-root" } } },
        };
        var kind = new ClusterCredentialKind(null!);
        Func<string, string, bool> missing = (reason, message) => kind.WaitsForMissingObject(user, reason, message);
        var absent = NotReady(ValidationReasons.AdminNotReady, $"cannot manage user 'app': {Operator.Provisioning.AdminLogins.Missing("mysql-root", "team-a")}");
        var notReadyYet = NotReady(ValidationReasons.AdminNotReady, "cannot manage user 'app': admin ClusterCredential mysql-root is not Ready (Progressing)");

        StalledCondition.Apply(absent, ClusterBackoff, missing, time.GetUtcNow()).Should().Be(StalledCondition.MissingGrace + CredentialPipeline.ShortestRecheck);
        absent.Find(ConditionTypes.Stalled)!.Status.Should().Be("False", "an admin applied together with its user may be seen a moment after it");
        time.Advance(StalledCondition.MissingGrace);
        StalledCondition.Apply(absent, ClusterBackoff, missing, time.GetUtcNow()).Should().BeNull();
        StalledCondition.Apply(notReadyYet, ClusterBackoff, missing, time.GetUtcNow()).Should().BeNull();

        absent.Find(ConditionTypes.Stalled)!.Reason.Should().Be(ValidationReasons.AdminNotReady);
        notReadyYet.Find(ConditionTypes.Stalled).Should().BeNull("an admin that exists is being worked on, or fails (and is stalled) itself");
    }

    [Fact]
    public void Applied_again_to_an_unchanged_failure_it_changes_nothing_so_nothing_is_written()
    {
        var conditions = NotReady(ValidationReasons.AuthenticationFailed, "refused");
        StalledCondition.Apply(conditions, ClusterBackoff, NothingMissing, time.GetUtcNow());
        var before = k8s.KubernetesJson.Serialize(conditions.ToList());

        time.Advance(TimeSpan.FromMinutes(10));
        var next = new ConditionSet(conditions.ToList(), 4, time);
        StalledCondition.Apply(next, ClusterBackoff, NothingMissing, time.GetUtcNow());

        k8s.KubernetesJson.Serialize(next.ToList()).Should().Be(before);
    }

    private ConditionSet NotReady(string reason, string message)
    {
        var conditions = new ConditionSet(null, 4, time);
        conditions.Set(ConditionTypes.Ready, false, reason, message);
        return conditions;
    }
}
