using k8s;
using Passbox.IntegrationTests.Doubles.Milvus;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;
using Passbox.Operator.Provisioning;
using static Passbox.IntegrationTests.Operator.ManagedUserSpecs;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// Users managed by the operator on the Milvus protocol double, through an admin ClusterCredential for root. Root is
/// not a configured superuser (Milvus's default), so every password reset must carry the right old password.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class ProvisioningMilvusTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private const string RootPassword = "R00t-Pa55word!";
    private const string ReaderRole = "search_reader";

    private readonly MilvusConnector connector = new();
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;
    private ManagedUserSpecs specs = null!;
    private MilvusDouble milvus = null!;

    public async Task InitializeAsync()
    {
        milvus = await MilvusDouble.StartAsync();
        milvus.State.SetPassword(MilvusDoubleState.RootUser, RootPassword);
        milvus.State.AddRole(ReaderRole);
        run = await OperatorRun.StartAsync(controlPlane, "provmv");
        kit = run.Kit;
        specs = new ManagedUserSpecs(kit, ClusterEngine.Milvus, milvus.Host, milvus.Port, provisioning => provisioning.Roles = [new MilvusRoleReference { Name = ReaderRole }]);
        run.MarkSecret(RootPassword);
    }

    public async Task DisposeAsync()
    {
        try
        {
            await run.DisposeMarkingGeneratedAsync("password", "token");
        }
        finally
        {
            await milvus.DisposeAsync();
        }
    }

    private Task CreateAdminAsync(string name = ManagedUserSpecs.DefaultAdmin, string user = MilvusDoubleState.RootUser, string password = RootPassword) =>
        specs.CreateAdminAsync(name, user, password);

    private async Task<bool> CanLogInAsync(string user, string password)
    {
        var outcome = await connector.ValidateAsync(new DatabaseLogin
        {
            Host = milvus.Host,
            Port = milvus.Port,
            LoginName = user,
            Password = password,
            Timeout = TimeSpan.FromSeconds(5),
        }, CancellationToken.None);
        outcome.Reason.Should().BeOneOf(ValidationReasons.Validated, ValidationReasons.AuthenticationFailed);
        return outcome.Succeeded;
    }

    [Fact]
    public async Task A_missing_user_is_created_with_a_generated_password_and_exactly_its_roles()
    {
        var user = ClusterTestKit.Unique("gen_");
        await CreateAdminAsync();

        await kit.CreateAsync(specs.Managed("vectors", user));

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("vectors", ConditionTypes.Ready, "True");
        var data = ClusterTestKit.Decode(await kit.WaitForSecretAsync("vectors"));
        data["username"].Should().Be(user);
        data["password"].Should().HaveLength(PasswordGenerator.DefaultLength);
        data["token"].Should().Be($"{user}:{data["password"]}");
        milvus.State.PasswordOf(user).Should().Be(data["password"]);
        milvus.State.RolesOf(user).Should().Equal(ReaderRole);
        (await CanLogInAsync(user, data["password"])).Should().BeTrue();
        ready.Status!.Provisioning!.User.Should().Be(user);
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserCreated"), "a UserCreated event");

        // Roles are kept exactly as listed: one granted by hand is taken away at the next check (here: after a spec edit).
        milvus.State.SetRole(user, MilvusDoubleState.PublicRole, add: true);
        await kit.PatchAsync<ClusterCredential>("vectors", new { spec = new { provisioning = new { passwordPolicy = new { length = 32 } } } });
        await ClusterTestKit.EventuallyAsync(() => Task.FromResult(milvus.State.RolesOf(user)), r => r.SequenceEqual([ReaderRole]), "the extra role to be removed");
    }

    [Fact]
    public async Task A_user_that_existed_before_Passbox_is_refused_as_UserExists_and_left_as_it_is()
    {
        var user = ClusterTestKit.Unique("old_");
        milvus.State.AddUser(user, "Someone-else5-pw", MilvusDoubleState.PublicRole);
        run.MarkSecret("Someone-else5-pw");
        await CreateAdminAsync();

        await kit.CreateAsync(specs.Managed("taken", user));

        var refused = await kit.WaitForConditionAsync<ClusterCredential>("taken", ConditionTypes.Ready, "False", "UserExists");
        ValidatedMessage(refused).Should().Contain(user).And.Contain("provisioning.adoptExisting");
        milvus.State.PasswordOf(user).Should().Be("Someone-else5-pw");
        milvus.State.RolesOf(user).Should().Equal(MilvusDoubleState.PublicRole);
        (await kit.TryGetSecretAsync("taken")).Should().BeNull();

        // Adopting it: root is a superuser here, so the reset needs no old password, which Passbox never knew.
        milvus.State.AddSuperUser(MilvusDoubleState.RootUser);
        await kit.PatchAsync<ClusterCredential>("taken", new { spec = new { provisioning = new { adoptExisting = true } } });

        await kit.WaitForConditionAsync<ClusterCredential>("taken", ConditionTypes.Ready, "True");
        var published = ClusterTestKit.Decode(await kit.WaitForSecretAsync("taken"))["password"];
        milvus.State.PasswordOf(user).Should().Be(published);
        milvus.State.RolesOf(user).Should().Equal(ReaderRole);
    }

    [Fact]
    public async Task Rotation_sends_the_old_password_replaces_it_and_restarts_opted_in_workloads()
    {
        var user = ClusterTestKit.Unique("rot_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("rot", user));
        var before = ClusterTestKit.Decode(await kit.WaitForSecretAsync("rot"))["password"];
        await kit.CreateDeploymentAsync("opted-in", new Dictionary<string, string> { [WorkloadRestarter.AutoAnnotation] = "true" }, "rot");
        await kit.CreateDeploymentAsync("bystander", null, "rot");

        // Deleting the generated password is "rotate now". Root is no superuser: the reset must carry the old password.
        await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync(GeneratedPasswordStore.SecretName("rot"), run.Namespace);

        var after = ClusterTestKit.Decode(await kit.WaitForSecretAsync("rot", s => ClusterTestKit.Decode(s)["password"] != before))["password"];
        (await CanLogInAsync(user, after)).Should().BeTrue();
        (await CanLogInAsync(user, before)).Should().BeFalse("the old password stops working");
        ClusterTestKit.Decode(await kit.WaitForSecretAsync("rot"))["token"].Should().Be($"{user}:{after}");
        await ClusterTestKit.EventuallyAsync(() => kit.WasRestartedAsync("opted-in"), restarted => restarted, "the opted-in Deployment to be restarted");
        (await kit.WasRestartedAsync("bystander")).Should().BeFalse("a workload that did not opt in is left alone, even though it uses the Secret");
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "PasswordReset") && events.Any(e => e.Reason == "WorkloadsRestarted"), "PasswordReset and WorkloadsRestarted events");
    }

    [Fact]
    public async Task A_reset_the_server_refuses_for_a_wrong_old_password_is_PermissionDenied_and_keeps_the_last_good_Secret()
    {
        var user = ClusterTestKit.Unique("drift_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("drift", user));
        var published = ClusterTestKit.Decode(await kit.WaitForSecretAsync("drift"))["password"];
        milvus.State.SetPassword(user, "Changed-by-hand-1");
        run.MarkSecret("Changed-by-hand-1");

        await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync(GeneratedPasswordStore.SecretName("drift"), run.Namespace);

        var refused = await kit.WaitForConditionAsync<ClusterCredential>("drift", ConditionTypes.Validated, "False", "PermissionDenied");
        ValidatedMessage(refused).Should().Contain("old password").And.Contain("superUsers");
        milvus.State.PasswordOf(user).Should().Be("Changed-by-hand-1");
        ClusterTestKit.Decode((await kit.TryGetSecretAsync("drift"))!)["password"].Should().Be(published, "the last good Secret stays");
    }

    /// <summary>
    /// A reset that reached the server but not the published Secret (cut short by a timeout, a crash or a lost lease)
    /// leaves the server with the new password and the Secret with the old one, which the server no longer takes as the
    /// old password. The next attempt finds the new one already set and publishes it, instead of PermissionDenied for good.
    /// </summary>
    [Fact]
    public async Task A_reset_cut_short_after_the_server_took_it_is_completed_by_the_next_attempt()
    {
        var user = ClusterTestKit.Unique("cut_");
        var first = "First-pa55word-1";
        var second = "Second-pa55word-2";
        run.MarkSecret(first, second);
        await CreateAdminAsync();
        await kit.CreateSecretAsync("cut-input", new Dictionary<string, string> { ["password"] = first });
        var credential = specs.Managed("cut", user);
        credential.Spec.PasswordSecretRef = new SecretKeyReference { Name = "cut-input", Key = "password" };
        await kit.CreateAsync(credential);
        await kit.WaitForSecretAsync("cut", s => ClusterTestKit.Decode(s)["password"] == first);

        // What the cut-short reset left: the server has the new password, nothing else knows.
        milvus.State.SetPassword(user, second);
        await kit.SetSecretValueAsync("cut-input", "password", second);

        await kit.WaitForSecretAsync("cut", s => ClusterTestKit.Decode(s)["password"] == second);
        var ready = await kit.WaitForConditionAsync<ClusterCredential>("cut", ConditionTypes.Ready, "True");
        ready.Status!.Conditions!.Should().NotContain(c => c.Reason == "PermissionDenied");
        (await CanLogInAsync(user, second)).Should().BeTrue();
        milvus.State.RolesOf(user).Should().Equal(ReaderRole);
    }

    [Fact]
    public async Task Deletion_policy_Delete_drops_the_user_only_after_in_use_protection_lets_go()
    {
        var user = ClusterTestKit.Unique("del_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("gone", user, policy: DeletionPolicy.Delete));
        await kit.WaitForConditionAsync<ClusterCredential>("gone", ConditionTypes.Ready, "True");

        await kit.DeleteWhileAPodUsesItAsync("gone", "search-api", () =>
        {
            milvus.State.HasUser(user).Should().BeTrue("the user stays while a Pod still uses its Secret");
            return Task.CompletedTask;
        });

        milvus.State.HasUser(user).Should().BeFalse();
        (await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("gone"))).Should().BeNull();
    }

    [Fact]
    public async Task Deletion_policy_Retain_keeps_the_user_its_roles_and_its_password()
    {
        var user = ClusterTestKit.Unique("ret_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("kept", user, policy: DeletionPolicy.Retain));
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("kept"))["password"];

        await kit.DeleteAsync<ClusterCredential>("kept");

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("kept"), c => c is null, "the credential to go");
        (await CanLogInAsync(user, password)).Should().BeTrue();
        milvus.State.RolesOf(user).Should().Equal(ReaderRole);
        ClusterTestKit.Decode((await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("kept")))!)["password"].Should().Be(password);
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserRetained"), "a UserRetained event");
    }

    [Fact]
    public async Task Protected_users_are_refused_by_the_schema_in_any_case()
    {
        milvus.State.AddUser("db_admin", "Zilliz-Adm1n-pw", MilvusDoubleState.AdminRole);
        milvus.State.MakeUndeletable("db_admin");
        run.MarkSecret("Zilliz-Adm1n-pw");
        await CreateAdminAsync();
        foreach (var name in new[] { "db_admin", "root", "Db_Admin", "ROOT" })
        {
            (await kit.RejectedAsync(specs.Managed("zilliz-admin", name))).Response.Content.Should().Contain("protected administrator");
        }

        milvus.State.UserNames().Should().Contain(["db_admin", "root"]).And.NotContain("Db_Admin");
        milvus.State.PasswordOf("db_admin").Should().Be("Zilliz-Adm1n-pw");
        milvus.State.PasswordOf("root").Should().Be(RootPassword);
    }

    [Theory]
    [InlineData("9lives")]
    [InlineData("search-svc")]
    [InlineData("a_name_that_is_longer_than_32_chars")]
    public async Task A_name_Milvus_would_not_take_is_rejected_by_the_schema(string name)
    {
        (await kit.RejectedAsync(specs.Managed("bad-name", name))).Response.Content.Should().Contain("spec.username").And.Contain("must start with a letter");
    }

    [Fact]
    public async Task An_admin_that_is_not_Ready_is_reported_as_AdminNotReady()
    {
        run.MarkSecret("not-roots-Passw0rd");
        await CreateAdminAsync("broken-admin", password: "not-roots-Passw0rd");
        var user = ClusterTestKit.Unique("wait_");

        await kit.CreateAsync(specs.Managed("waiting", user, admin: "broken-admin"));

        var waiting = await kit.WaitForConditionAsync<ClusterCredential>("waiting", ConditionTypes.Ready, "False", "AdminNotReady");
        ValidatedMessage(waiting).Should().Contain("broken-admin");
        milvus.State.HasUser(user).Should().BeFalse();
        (await kit.TryGetSecretAsync("waiting")).Should().BeNull();
    }

    [Fact]
    public async Task An_admin_without_the_admin_role_is_PermissionDenied()
    {
        milvus.State.AddUser("app_owner", "App-0wner-pw", MilvusDoubleState.PublicRole);
        run.MarkSecret("App-0wner-pw");
        await CreateAdminAsync("weak-admin", "app_owner", "App-0wner-pw");
        await kit.WaitForConditionAsync<ClusterCredential>("weak-admin", ConditionTypes.Ready, "True");
        var user = ClusterTestKit.Unique("deny_");

        await kit.CreateAsync(specs.Managed("denied", user, admin: "weak-admin"));

        var denied = await kit.WaitForConditionAsync<ClusterCredential>("denied", ConditionTypes.Ready, "False", "PermissionDenied");
        ValidatedMessage(denied).Should().Contain(user).And.Contain("app_owner").And.Contain("admin role");
        milvus.State.HasUser(user).Should().BeFalse();
    }
}
