using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Provisioning;

/// <summary>
/// Which credentials an admin's change wakes: only those whose last check failed waiting for it, and only once it is
/// Ready with its Secret published. The rest (Ready dependents, dependents failing for their own reasons) stay asleep.
/// </summary>
public sealed class AdminReferencesTests
{
    private static readonly DateTime ReadyAt = new(2026, 11, 25, 10, 0, 7, DateTimeKind.Utc);
    private static readonly DateTime ValidatedAt = ReadyAt.AddHours(3);

    private readonly FakeInformer<ClusterCredential> informer = new(ResourceDescriptor.For<ClusterCredential>());
    private readonly AdminReferences references;

    public AdminReferencesTests()
    {
        informer.Cache.AddIndex(AdminReferences.IndexName, AdminReferences.IndexValues);
        references = new AdminReferences(informer);
    }

    [Fact]
    public void An_admin_turning_Ready_wakes_the_credentials_waiting_for_it_and_no_others()
    {
        informer.Apply(Dependent("waiting", ValidationReasons.AdminNotReady));
        informer.Apply(Dependent("refused", ValidationReasons.AuthenticationFailed));
        informer.Apply(Dependent("fine", ValidationReasons.Validated));
        informer.Apply(Dependent("other-admins", ValidationReasons.AdminNotReady, admin: "another-admin"));
        var admin = Admin(ready: true);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().Equal(new ObjectKey("team", "waiting"));
        references.ReadySince(Dependent("waiting", ValidationReasons.AdminNotReady)).Should().Be(new DateTimeOffset(ReadyAt));
    }

    [Fact]
    public void A_deletion_waiting_for_the_admin_to_drop_its_user_is_woken_too()
    {
        var deleting = Dependent("leaving", ValidationReasons.Validated);
        deleting.Status!.Conditions!.Add(new V1Condition { Type = ConditionTypes.DeletionBlocked, Status = "True", Reason = ValidationReasons.AdminNotReady, Message = "m", LastTransitionTime = ReadyAt });
        informer.Apply(deleting);
        var admin = Admin(ready: true);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().Equal(new ObjectKey("team", "leaving"));
    }

    [Theory]
    [InlineData(false, "Secret")]
    [InlineData(true, null)]
    public void An_admin_that_is_not_Ready_or_has_no_Secret_published_wakes_nobody(bool ready, string? secretName)
    {
        informer.Apply(Dependent("waiting", ValidationReasons.AdminNotReady));
        var admin = Admin(ready, secretName);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().BeEmpty();
        references.ReadySince(Dependent("waiting", ValidationReasons.AdminNotReady)).Should().BeNull();
    }

    [Fact]
    public void An_admin_passing_a_check_wakes_the_credentials_whose_check_it_failed_at_its_refused_login_and_no_others()
    {
        informer.Apply(Dependent("admin-refused", ValidationReasons.AdminAuthenticationFailed));
        informer.Apply(Dependent("refused", ValidationReasons.AuthenticationFailed));
        informer.Apply(Dependent("fine", ValidationReasons.Validated));
        informer.Apply(Dependent("other-admins", ValidationReasons.AdminAuthenticationFailed, admin: "another-admin"));
        var admin = Admin(ready: true, validatedAt: ValidatedAt);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().Equal(new ObjectKey("team", "admin-refused"));
    }

    [Fact]
    public void The_wait_of_a_refused_admin_login_ends_when_the_admin_last_passed_a_check_the_users_own_refusal_never()
    {
        informer.Apply(Admin(ready: true, validatedAt: ValidatedAt));
        var dependent = Dependent("admin-refused", ValidationReasons.AdminAuthenticationFailed);

        // Ready since long before; its check with a fixed password is what the status records since.
        references.WaitOverSince(dependent, ValidationReasons.AdminAuthenticationFailed).Should().Be(new DateTimeOffset(ValidatedAt));
        references.WaitOverSince(dependent, ValidationReasons.AdminNotReady).Should().Be(new DateTimeOffset(ReadyAt));
        references.WaitOverSince(dependent, ValidationReasons.AuthenticationFailed).Should().BeNull("a refused login of the user's own waits its interval");
        references.WaitOverSince(dependent, ValidationReasons.PermissionDenied).Should().BeNull();
    }

    [Theory]
    [InlineData(false, "Secret")]
    [InlineData(true, null)]
    public void An_admin_that_passed_a_check_but_is_not_Ready_or_has_no_Secret_published_ends_no_wait(bool ready, string? secretName)
    {
        informer.Apply(Dependent("admin-refused", ValidationReasons.AdminAuthenticationFailed));
        var admin = Admin(ready, secretName, validatedAt: ValidatedAt);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().BeEmpty();
        references.WaitOverSince(Dependent("admin-refused", ValidationReasons.AdminAuthenticationFailed), ValidationReasons.AdminAuthenticationFailed).Should().BeNull();
    }

    [Fact]
    public void A_deletion_whose_drop_was_refused_at_the_admin_login_is_woken_once_the_admin_passed_a_check_after_that_refusal()
    {
        // A deletion tries the drop on every pass: woken by each change of the admin, it would log in again and again with
        // a refused password. Only an admin check that passed after the refusal (a fixed password) wakes it.
        var deleting = Dependent("leaving", ValidationReasons.Validated);
        deleting.Metadata.DeletionTimestamp = ReadyAt;
        deleting.Status!.Conditions!.Add(new V1Condition { Type = ConditionTypes.DeletionBlocked, Status = "True", Reason = ValidationReasons.AdminAuthenticationFailed, Message = "m", LastTransitionTime = ReadyAt });
        informer.Apply(deleting);
        var admin = Admin(ready: true, validatedAt: ValidatedAt);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().BeEmpty("no time of the refused drop is known (an operator restarted since): it waits the admin's interval");
        references.WaitingOn(admin, _ => new DateTimeOffset(ValidatedAt).AddMilliseconds(300)).Should().BeEmpty(
            "the admin's last passed check came before the refusal (the same second counts as before)");
        references.WaitingOn(admin, _ => new DateTimeOffset(ValidatedAt).AddMinutes(-1)).Should().Equal(new ObjectKey("team", "leaving"));

        var alive = Dependent("refused-but-alive", ValidationReasons.Validated);
        alive.Status!.Conditions!.Add(new V1Condition { Type = ConditionTypes.DeletionBlocked, Status = "True", Reason = ValidationReasons.AdminAuthenticationFailed, Message = "m", LastTransitionTime = ReadyAt });
        informer.Apply(alive);
        references.WaitingOn(admin, _ => new DateTimeOffset(ValidatedAt).AddMinutes(-1)).Should().Equal([new ObjectKey("team", "leaving")],
            "only a credential being deleted drops its user");
    }

    /// <summary>
    /// A managed user checked before its admin was created (applied together, the user first) kept saying "admin … does
    /// not exist" until the admin turned Ready: read as a failure the whole time (Argo CD Degraded, Stalled after a
    /// minute), and for as long as the admin's own first check failed, though the admin was there.
    /// </summary>
    [Fact]
    public void An_admin_created_after_its_users_wakes_those_told_it_does_not_exist_even_before_it_is_Ready()
    {
        var told = Dependent("told-missing", ValidationReasons.AdminNotReady);
        told.Status!.Conditions![0].Message = $"cannot manage user 'told-missing': {AdminLogins.Missing("root-admin", "team")}";
        informer.Apply(told);
        informer.Apply(Dependent("waiting", ValidationReasons.AdminNotReady));
        references.WaitOverSince(told, ValidationReasons.AdminNotReady).Should().BeNull("the admin does not exist yet");

        var admin = Admin(ready: false);
        informer.Apply(admin);

        references.WaitingOn(admin).Should().Equal(new ObjectKey("team", "told-missing"));
        references.WaitOverSince(told, ValidationReasons.AdminNotReady).Should().NotBeNull("its next check says what it waits for now");
        references.WaitOverSince(Dependent("waiting", ValidationReasons.AdminNotReady), ValidationReasons.AdminNotReady).Should().BeNull(
            "one told the admin is not Ready waits for it to turn Ready");

        // Woken, it is told the admin has not been checked yet; that wait ends when the admin turns Ready, even in the
        // same second as the check (the admin's Ready time is whole seconds).
        told.Status.Conditions[0].Message = "cannot manage user 'told-missing': admin ClusterCredential root-admin has not been checked yet";
        references.WaitOverSince(told, ValidationReasons.AdminNotReady).Should().BeNull("the admin is not Ready yet");
        informer.Apply(Admin(ready: true));
        references.WaitOverSince(told, ValidationReasons.AdminNotReady).Should().Be(DateTimeOffset.MaxValue);
    }

    [Fact]
    public void A_credential_whose_admin_does_not_exist_has_no_Ready_time()
    {
        references.ReadySince(Dependent("waiting", ValidationReasons.AdminNotReady, admin: "missing")).Should().BeNull();
    }

    private static ClusterCredential Admin(bool ready, string? secretName = "root-admin", DateTime? validatedAt = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "root-admin", NamespaceProperty = "team", Uid = "uid-admin" },
        Spec = new ClusterCredentialSpec { Username = "root" },
        Status = new ClusterCredentialStatus
        {
            SecretName = secretName,
            LastValidated = validatedAt ?? ReadyAt,
            Conditions = [new V1Condition { Type = ConditionTypes.Ready, Status = ready ? "True" : "False", Reason = "Connected", Message = "ok", LastTransitionTime = ReadyAt }],
        },
    };

    private static ClusterCredential Dependent(string name, string validatedReason, string admin = "root-admin") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "team", Uid = "uid-" + name },
        Spec = new ClusterCredentialSpec
        {
            Username = name,
            Provisioning = new UserProvisioning { AdminCredentialRef = new LocalCredentialReference { Name = admin } },
        },
        Status = new ClusterCredentialStatus
        {
            Conditions = [new V1Condition { Type = ConditionTypes.Validated, Status = validatedReason == ValidationReasons.Validated ? "True" : "False", Reason = validatedReason, Message = "m", LastTransitionTime = ReadyAt }],
        },
    };
}
