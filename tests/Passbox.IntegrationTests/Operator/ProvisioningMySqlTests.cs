using System.Globalization;
using k8s;
using k8s.Models;
using MySqlConnector;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Provisioning;
using static Passbox.IntegrationTests.Operator.ManagedUserSpecs;
using ValidationReasons = Passbox.Operator.Connectors.ValidationReasons;

namespace Passbox.IntegrationTests.Operator;

/// <summary>Users managed by the operator on a real MariaDB, through an admin ClusterCredential for root.</summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class ProvisioningMySqlTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb) : IAsyncLifetime
{
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;
    private ManagedUserSpecs specs = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "prov");
        kit = run.Kit;
        specs = new ManagedUserSpecs(kit, ClusterEngine.MySQL, mariaDb.Host, mariaDb.Port, provisioning =>
            provisioning.Grants = [new DatabaseGrant { Database = MariaDbFixture.DatabaseName, Privileges = [SqlPrivilege.Select, SqlPrivilege.Insert] }]);
        run.MarkSecret(mariaDb.RootPassword);
    }

    public async Task DisposeAsync() => await run.DisposeMarkingGeneratedAsync("password", "token");

    private Task CreateAdminAsync(string name = ManagedUserSpecs.DefaultAdmin, string? user = null, string? password = null) =>
        specs.CreateAdminAsync(name, user ?? mariaDb.RootUser, password ?? mariaDb.RootPassword);

    /// <summary>An admin with its own login (not root), so its logins can be counted on the server.</summary>
    private async Task<MariaDbAccount> CreateCountedAdminAsync(string name)
    {
        var account = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("adm_"));
        run.MarkSecret(account.Password);
        await mariaDb.ExecuteAsync($"GRANT ALL PRIVILEGES ON *.* TO '{account.LoginName}'@'%' WITH GRANT OPTION");
        await CreateAdminAsync(name, account.LoginName, account.Password);
        await kit.WaitForConditionAsync<ClusterCredential>(name, ConditionTypes.Ready, "True");
        return account;
    }

    private async Task<bool> CanLogInAsync(string user, string password)
    {
        var builder = new MySqlConnectionStringBuilder
        {
            Server = mariaDb.Host,
            Port = (uint)mariaDb.Port,
            UserID = user,
            Password = password,
            Pooling = false,
            SslMode = MySqlSslMode.None,
            ConnectionTimeout = 5,
        };
        try
        {
            await using var connection = new MySqlConnection(builder.ConnectionString);
            await connection.OpenAsync();
            return true;
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.AccessDenied)
        {
            return false;
        }
    }

    private async Task<long> UserCountAsync(string user) =>
        Convert.ToInt64(await mariaDb.ScalarAsync($"SELECT COUNT(*) FROM mysql.user WHERE User = '{user}' AND Host = '%'"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_missing_user_is_created_with_a_generated_password_and_its_grants()
    {
        var user = ClusterTestKit.Unique("gen_");
        await CreateAdminAsync();

        await kit.CreateAsync(specs.Managed("orders", user));

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("orders", ConditionTypes.Ready, "True");
        var data = ClusterTestKit.Decode(await kit.WaitForSecretAsync("orders"));
        data["username"].Should().Be(user);
        data["password"].Should().HaveLength(PasswordGenerator.DefaultLength);
        (await CanLogInAsync(user, data["password"])).Should().BeTrue();
        // Granted on orders\_db, escaped: the bare name orders_db would be a pattern matching ordersXdb too.
        var grants = Convert.ToString(await mariaDb.ScalarAsync(
            $"SELECT GROUP_CONCAT(PRIVILEGE_TYPE ORDER BY PRIVILEGE_TYPE) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = \"'{user}'@'%'\" AND TABLE_SCHEMA = '{EscapedDatabase}'"), CultureInfo.InvariantCulture);
        grants.Should().Be("INSERT,SELECT");

        var stored = (await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("orders")))!;
        ClusterTestKit.Decode(stored)["password"].Should().Be(data["password"]);
        stored.Metadata.Labels.Should().Contain(Passbox.Operator.Api.V1Alpha1.ApiGroup.ManagedByLabel, "passbox");
        ready.Status!.Provisioning!.User.Should().Be(user);
        ready.Status.Provisioning.PasswordSet.Should().NotBeNull();
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserCreated"), "a UserCreated event");
    }

    /// <summary>The fixture's database as a string literal of its escaped grant form, <c>orders\_db</c>.</summary>
    private static string EscapedDatabase => MariaDbFixture.DatabaseName.Replace("_", "\\\\_", StringComparison.Ordinal);

    private async Task<long> GrantCountAsync(string user) =>
        Convert.ToInt64(await mariaDb.ScalarAsync(
            $"SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = \"'{user}'@'%'\" AND TABLE_SCHEMA IN ('{MariaDbFixture.DatabaseName}', '{EscapedDatabase}')"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_user_that_existed_before_Passbox_is_refused_as_UserExists_and_keeps_its_password()
    {
        var existing = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("old_"));
        run.MarkSecret(existing.Password);
        await mariaDb.ExecuteAsync($"REVOKE ALL PRIVILEGES ON `{MariaDbFixture.DatabaseName}`.* FROM '{existing.LoginName}'@'%'");
        await CreateAdminAsync();

        await kit.CreateAsync(specs.Managed("taken", existing.LoginName, policy: DeletionPolicy.Delete));

        var refused = await kit.WaitForConditionAsync<ClusterCredential>("taken", ConditionTypes.Ready, "False", "UserExists");
        ValidatedMessage(refused)
            .Should().Contain(existing.LoginName).And.Contain("provisioning.adoptExisting");
        (await CanLogInAsync(existing.LoginName, existing.Password)).Should().BeTrue("whatever logs in as the user today keeps working");
        (await GrantCountAsync(existing.LoginName)).Should().Be(0, "not even the grants are applied to someone else's user");
        (await kit.TryGetSecretAsync("taken")).Should().BeNull();

        // deletionPolicy Delete drops only a user Passbox managed: this one stays.
        await kit.DeleteAsync<ClusterCredential>("taken");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("taken"), c => c is null, "the credential to go");
        (await UserCountAsync(existing.LoginName)).Should().Be(1);
        (await CanLogInAsync(existing.LoginName, existing.Password)).Should().BeTrue();
    }

    [Fact]
    public async Task AdoptExisting_takes_over_a_user_that_existed_before_and_sets_its_password()
    {
        var existing = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("mig_"));
        run.MarkSecret(existing.Password);
        await CreateAdminAsync();
        var credential = specs.Managed("migrated", existing.LoginName);
        credential.Spec.Provisioning!.AdoptExisting = true;

        await kit.CreateAsync(credential);

        await kit.WaitForConditionAsync<ClusterCredential>("migrated", ConditionTypes.Ready, "True");
        var published = ClusterTestKit.Decode(await kit.WaitForSecretAsync("migrated"))["password"];
        (await CanLogInAsync(existing.LoginName, published)).Should().BeTrue();
        (await CanLogInAsync(existing.LoginName, existing.Password)).Should().BeFalse("the adopted user now has Passbox's password");
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "PasswordReset"), "a PasswordReset event");
    }

    [Fact]
    public async Task A_retained_user_is_taken_back_by_a_credential_recreated_with_its_generated_password()
    {
        var user = ClusterTestKit.Unique("back_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("again", user));
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("again"))["password"];
        await kit.DeleteAsync<ClusterCredential>("again");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("again"), c => c is null, "the credential to go");

        // The user and the generated-password Secret were retained; the new credential has no status yet, but the
        // password it would set already logs in as the user, so the user is recognised as Passbox's.
        await kit.CreateAsync(specs.Managed("again", user));

        await kit.WaitForConditionAsync<ClusterCredential>("again", ConditionTypes.Ready, "True");
        ClusterTestKit.Decode(await kit.WaitForSecretAsync("again"))["password"].Should().Be(password);
        (await CanLogInAsync(user, password)).Should().BeTrue();
    }

    [Fact]
    public async Task A_credential_pointed_at_another_servers_admin_leaves_the_user_of_that_name_there_alone_and_never_drops_it()
    {
        var user = ClusterTestKit.Unique("mov_");
        await CreateAdminAsync();
        // Another server's administrator: the same MariaDB under another name stands in for it.
        await kit.CreateSecretAsync("other-admin-input", new Dictionary<string, string> { ["password"] = mariaDb.RootPassword });
        await kit.CreateAsync(specs.Credential("other-admin", mariaDb.RootUser, s =>
        {
            s.Endpoint.Host = "localhost";
            s.PasswordSecretRef = new SecretKeyReference { Name = "other-admin-input", Key = "password" };
        }));
        await kit.WaitForConditionAsync<ClusterCredential>("other-admin", ConditionTypes.Ready, "True");
        await kit.CreateAsync(specs.Managed("moved", user, policy: DeletionPolicy.Delete));
        var ready = await kit.WaitForConditionAsync<ClusterCredential>("moved", ConditionTypes.Ready, "True");
        ready.Status!.Provisioning!.Server.Should().Be($"{mariaDb.Host}:{mariaDb.Port}");
        run.MarkSecret(ClusterTestKit.Decode(await kit.WaitForSecretAsync("moved"))["password"]);

        // On the "other server" a user of the same name is someone else's, with its own password.
        await mariaDb.ExecuteAsync($"DROP USER '{user}'@'%'");
        var theirs = await mariaDb.CreateUserAsync(user);
        run.MarkSecret(theirs.Password);
        await kit.PatchAsync<ClusterCredential>("moved", new { spec = new { provisioning = new { adminCredentialRef = new { name = "other-admin" } } } });

        var refused = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("moved"),
            c => c!.Status!.AttemptedRevision != ready.Status!.AttemptedRevision, "the check of the credential pointed at the other admin");
        ValidatedReason(refused!).Should().Be(ValidationReasons.UserExists, "the credential's record of its user is of the first server");
        ValidatedMessage(refused!).Should().Contain("provisioning.adoptExisting");
        (await CanLogInAsync(user, theirs.Password)).Should().BeTrue("someone else's user keeps its password");

        await kit.DeleteAsync<ClusterCredential>("moved");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("moved"), c => c is null, "the credential to go");
        (await UserCountAsync(user)).Should().Be(1, "deletionPolicy Delete drops only the user Passbox made, on the server it made it on");
        (await CanLogInAsync(user, theirs.Password)).Should().BeTrue();
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserRetained" && e.Message.Contains("by hand", StringComparison.Ordinal)),
            "a UserRetained event naming the server the user was made on");
    }

    [Fact]
    public async Task A_user_created_before_its_grant_was_refused_is_Passbox_s_and_dropped_by_deletion_policy_Delete()
    {
        // An administrator that may create users but grant nothing on the database.
        var creator = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("crt_"));
        run.MarkSecret(creator.Password);
        await mariaDb.ExecuteAsync($"REVOKE ALL PRIVILEGES ON `{MariaDbFixture.DatabaseName}`.* FROM '{creator.LoginName}'@'%'");
        await mariaDb.ExecuteAsync($"GRANT CREATE USER ON *.* TO '{creator.LoginName}'@'%'");
        await CreateAdminAsync("creator-admin", creator.LoginName, creator.Password);
        await kit.WaitForConditionAsync<ClusterCredential>("creator-admin", ConditionTypes.Ready, "True");
        var user = ClusterTestKit.Unique("half_");

        await kit.CreateAsync(specs.Managed("half", user, admin: "creator-admin", policy: DeletionPolicy.Delete));

        var denied = await kit.WaitForConditionAsync<ClusterCredential>("half", ConditionTypes.Ready, "False", "PermissionDenied");
        ValidatedMessage(denied).Should().Contain(creator.LoginName).And.Contain("orders").And.Contain("WITH GRANT OPTION");
        (await UserCountAsync(user)).Should().Be(1, "CREATE USER went through before the GRANT was refused");
        denied.Status!.Provisioning!.User.Should().Be(user, "Passbox created it");

        await kit.DeleteAsync<ClusterCredential>("half");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("half"), c => c is null, "the credential to go");
        (await UserCountAsync(user)).Should().Be(0, "deletionPolicy Delete drops the user Passbox created, grants or not");
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserDropped" && e.Message.Contains(user, StringComparison.Ordinal)), "a UserDropped event naming the user");
    }

    [Fact]
    public async Task A_password_older_than_the_rotation_period_is_replaced_and_opted_in_workloads_restart()
    {
        var user = ClusterTestKit.Unique("rot_");
        await CreateAdminAsync();
        var credential = specs.Managed("rot", user);
        credential.Spec.Provisioning!.Rotation = new RotationSettings { Period = "24h" };
        await kit.CreateAsync(credential);
        var before = ClusterTestKit.Decode(await kit.WaitForSecretAsync("rot"))["password"];
        var ready = await kit.WaitForConditionAsync<ClusterCredential>("rot", ConditionTypes.Ready, "True");
        ready.Status!.Provisioning!.NextRotation.Should().BeCloseTo(DateTime.UtcNow.AddHours(24), TimeSpan.FromMinutes(5));
        await kit.CreateDeploymentAsync("opted-in", new Dictionary<string, string> { [WorkloadRestarter.ReloadAnnotation] = "other,rot" }, "rot");
        await kit.CreateDeploymentAsync("bystander", null, "rot");

        // The period elapses: the password was generated (by the operator's record on its Secret) two days ago.
        await controlPlane.Admin.CoreV1.PatchNamespacedSecretAsync(new V1Patch(KubernetesJson.Serialize(new
        {
            metadata = new { annotations = new Dictionary<string, string> { [GeneratedPasswordStore.GeneratedAtAnnotation] = DateTime.UtcNow.AddDays(-2).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) } },
        }), V1Patch.PatchType.MergePatch), GeneratedPasswordStore.SecretName("rot"), run.Namespace);

        var after = ClusterTestKit.Decode(await kit.WaitForSecretAsync("rot", s => ClusterTestKit.Decode(s)["password"] != before))["password"];
        (await CanLogInAsync(user, after)).Should().BeTrue();
        (await CanLogInAsync(user, before)).Should().BeFalse("the old password stops working");
        await ClusterTestKit.EventuallyAsync(() => kit.WasRestartedAsync("opted-in"), restarted => restarted, "the opted-in Deployment to be restarted");
        (await kit.WasRestartedAsync("bystander")).Should().BeFalse("a workload that did not opt in is left alone, even though it uses the Secret");
        var rotated = await kit.WaitForConditionAsync<ClusterCredential>("rot", ConditionTypes.Ready, "True");
        rotated.Status!.Provisioning!.NextRotation.Should().BeAfter(ready.Status.Provisioning.NextRotation!.Value.AddHours(-1), "the next rotation is a period after this one");
        rotated.Status.RestartPending.Should().BeNull("the restart went through, so none is owed");
        var settled = await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync("rot"),
            s => s?.Metadata.Annotations?.ContainsKey(ApiGroup.RestartPendingAnnotation) == false, "the restart mark to come off the Secret");
        ClusterTestKit.Decode(settled!)["password"].Should().Be(after);
    }

    /// <summary>
    /// A ValidatingAdmissionPolicy keeps the published Secret's data from changing when the rotation is due. The new
    /// password was set on the server and its Secret refused after: every workload using the Secret was locked out for
    /// as long as the policy stayed. Now a dry run of the write comes first, and while it is refused the server keeps the
    /// published password, which still logs in; once the policy is gone, the retry rotates as usual.
    /// </summary>
    [Fact]
    public async Task A_rotation_whose_Secret_a_policy_refuses_leaves_the_published_password_working_and_rotates_once_the_policy_is_gone()
    {
        const string Denial = "published database credentials may not change in place here (passbox test)";
        var user = ClusterTestKit.Unique("frz_");
        await CreateAdminAsync();
        var credential = specs.Managed("frozen", user);
        credential.Spec.Provisioning!.Rotation = new RotationSettings { Period = "24h" };
        await kit.CreateAsync(credential);
        await kit.WaitForConditionAsync<ClusterCredential>("frozen", ConditionTypes.Ready, "True");
        var before = ClusterTestKit.Decode(await kit.WaitForSecretAsync("frozen"))["password"];
        run.MarkSecret(before);
        await using var policy = await SecretAdmission.DenyDataChangesAsync(controlPlane.Admin, run.Namespace, "frozen", Denial);

        await AgeGeneratedPasswordAsync("frozen");

        var held = await kit.WaitForConditionAsync<ClusterCredential>("frozen", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretRejected);
        var next = ClusterTestKit.Decode((await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("frozen")))!)["password"];
        run.MarkSecret(next);
        // Compared, not printed: a failed Be() would show the passwords in the test output.
        (next != before).Should().BeTrue("the rotation generated a new password, kept in the generated-password Secret");
        (await CanLogInAsync(user, before)).Should().BeTrue("the server kept the published password: workloads still log in");
        (await CanLogInAsync(user, next)).Should().BeFalse("the new password is not set while its Secret would be refused");
        (ClusterTestKit.Decode((await kit.TryGetSecretAsync("frozen"))!)["password"] == before).Should().BeTrue("the published Secret is unchanged");
        var synced = held.Status!.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Message;
        synced.Should().Contain($"the password of user '{user}' was not changed, so Secret frozen keeps the one that logs in")
            .And.Contain($"ValidatingAdmissionPolicy '{policy.Name}'").And.Contain(Denial)
            .And.Contain(Passbox.Operator.Controllers.Shared.SecretRefusalReport.Retried);
        held.Status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretRejected);
        held.Status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True", "the published password still logs in");

        await policy.DeleteAsync();

        await kit.WaitForSecretAsync("frozen", s => ClusterTestKit.Decode(s)["password"] == next,
            timeout: Passbox.Operator.Controllers.Shared.RefusedWriteBackoff.FirstRetry + TimeSpan.FromSeconds(45));
        (await CanLogInAsync(user, next)).Should().BeTrue();
        (await CanLogInAsync(user, before)).Should().BeFalse("rotated at last");
        await kit.WaitForConditionAsync<ClusterCredential>("frozen", ConditionTypes.Ready, "True");
    }

    /// <summary>Makes the generated password of <paramref name="name"/> two days old (by the operator's record on its Secret).</summary>
    private async Task AgeGeneratedPasswordAsync(string name) => await controlPlane.Admin.CoreV1.PatchNamespacedSecretAsync(new V1Patch(KubernetesJson.Serialize(new
    {
        metadata = new { annotations = new Dictionary<string, string> { [GeneratedPasswordStore.GeneratedAtAnnotation] = DateTime.UtcNow.AddDays(-2).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) } },
    }), V1Patch.PatchType.MergePatch), GeneratedPasswordStore.SecretName(name), run.Namespace);

    [Fact]
    public async Task A_changed_password_Secret_resets_the_password_of_the_user()
    {
        var user = ClusterTestKit.Unique("src_");
        await CreateAdminAsync();
        var first = MariaDbFixture.NewPassword();
        var second = MariaDbFixture.NewPassword();
        run.MarkSecret(first, second);
        await kit.CreateSecretAsync("src-input", new Dictionary<string, string> { ["password"] = first });
        var credential = specs.Managed("src", user);
        credential.Spec.PasswordSecretRef = new SecretKeyReference { Name = "src-input", Key = "password" };
        await kit.CreateAsync(credential);
        await kit.WaitForSecretAsync("src", s => ClusterTestKit.Decode(s)["password"] == first);

        await kit.SetSecretValueAsync("src-input", "password", second);

        await kit.WaitForSecretAsync("src", s => ClusterTestKit.Decode(s)["password"] == second);
        (await CanLogInAsync(user, second)).Should().BeTrue();
        (await CanLogInAsync(user, first)).Should().BeFalse();
        (await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("src"))).Should().BeNull("a given password is not generated");
    }

    [Fact]
    public async Task A_periodic_check_of_an_unchanged_user_logs_in_as_that_user_only_never_as_the_admin()
    {
        var admin = await CreateCountedAdminAsync("counted-admin");
        var user = ClusterTestKit.Unique("per_");
        var credential = specs.Managed("periodic", user, admin: "counted-admin");
        credential.Spec.Validation = new ValidationSettings { Interval = "1s", Timeout = "3s" };
        await kit.CreateAsync(credential);
        await kit.WaitForConditionAsync<ClusterCredential>("periodic", ConditionTypes.Ready, "True");
        var adminLogins = await mariaDb.LoginAttemptsAsync(admin.LoginName);
        var userLogins = await mariaDb.LoginAttemptsAsync(user);

        await ClusterTestKit.EventuallyAsync(() => mariaDb.LoginAttemptsAsync(user), n => n >= userLogins + 3, "three more periodic checks of the user's login");

        (await mariaDb.LoginAttemptsAsync(admin.LoginName)).Should().Be(adminLogins, "nothing changed, so the administrator has nothing to do");
    }

    [Fact]
    public async Task A_user_dropped_by_hand_is_recreated_by_the_next_check_without_the_login_ever_reported_failed()
    {
        await CreateAdminAsync();
        var user = ClusterTestKit.Unique("gone_");
        var credential = specs.Managed("gone", user);
        credential.Spec.Validation = new ValidationSettings { Interval = "1s", Timeout = "3s" };
        await kit.CreateAsync(credential);
        var ready = await kit.WaitForConditionAsync<ClusterCredential>("gone", ConditionTypes.Validated, "True");
        var since = ready.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).LastTransitionTime;
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("gone"))["password"];
        run.MarkSecret(password);

        await mariaDb.ExecuteAsync($"DROP USER '{user}'@'%'");

        // The check that finds the login refused lets the administrator recreate the user at once and logs in again.
        await ClusterTestKit.EventuallyAsync(() => CanLogInAsync(user, password), ok => ok, "the user to be recreated with its password");
        var after = await kit.WaitForConditionAsync<ClusterCredential>("gone", ConditionTypes.Validated, "True");
        after.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).LastTransitionTime.Should().Be(since,
            "the refused login was repaired within the same check, so Validated never turned False");
    }

    [Fact]
    public async Task A_locked_user_whose_login_the_repair_cannot_fix_is_reported_with_one_admin_session_per_check()
    {
        var admin = await CreateCountedAdminAsync("lock-admin");
        var user = ClusterTestKit.Unique("lock_");
        await kit.CreateAsync(specs.Managed("locked", user, admin: "lock-admin"));
        await kit.WaitForConditionAsync<ClusterCredential>("locked", ConditionTypes.Ready, "True");
        run.MarkSecret(ClusterTestKit.Decode(await kit.WaitForSecretAsync("locked"))["password"]);
        await mariaDb.ExecuteAsync($"ALTER USER '{user}'@'%' ACCOUNT LOCK");

        // An edit brings a check forward: its login is refused, repaired by the administrator once, and refused again.
        await kit.PatchAsync<ClusterCredential>("locked", new { spec = new { provisioning = new { deletionPolicy = "Delete" } } });
        var refused = await kit.WaitForConditionAsync<ClusterCredential>("locked", ConditionTypes.Validated, "False", ValidationReasons.AuthenticationFailed);
        ValidatedMessage(refused).Should()
            .Contain("this account is locked").And.Contain("The administrator had just set this user's password");
        var refusedRevision = refused.Status!.AttemptedRevision;
        var adminLogins = await mariaDb.LoginAttemptsAsync(admin.LoginName);

        // The next check knows the login was refused: the administrator repairs before the login, and not again after it.
        await kit.PatchAsync<ClusterCredential>("locked", new { spec = new { provisioning = new { deletionPolicy = "Retain" } } });
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("locked"),
            c => c!.Status!.AttemptedRevision != refusedRevision, "the check of the edited credential");
        (await mariaDb.LoginAttemptsAsync(admin.LoginName)).Should().Be(adminLogins + 1, "one administrator session per check");
        (await kit.GetAsync<ClusterCredential>("locked"))!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason
            .Should().Be(ValidationReasons.AuthenticationFailed);
        await mariaDb.ExecuteAsync($"ALTER USER '{user}'@'%' ACCOUNT UNLOCK");
    }

    [Fact]
    public async Task Editing_only_the_labels_of_the_password_Secret_leaves_the_password_alone()
    {
        var admin = await CreateCountedAdminAsync("label-admin");
        var user = ClusterTestKit.Unique("lbl_");
        var password = MariaDbFixture.NewPassword();
        run.MarkSecret(password);
        await kit.CreateSecretAsync("lbl-input", new Dictionary<string, string> { ["password"] = password });
        var credential = specs.Managed("lbl", user, admin: "label-admin");
        credential.Spec.PasswordSecretRef = new SecretKeyReference { Name = "lbl-input", Key = "password" };
        await kit.CreateAsync(credential);
        var ready = await kit.WaitForConditionAsync<ClusterCredential>("lbl", ConditionTypes.Ready, "True");
        var adminLogins = await mariaDb.LoginAttemptsAsync(admin.LoginName);

        await controlPlane.Admin.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"metadata":{"labels":{"team":"billing"}}}""", V1Patch.PatchType.MergePatch),
            "lbl-input", run.Namespace);

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("lbl"),
            c => c?.Status?.Provisioning?.PasswordVersion is { } version && version != ready.Status!.Provisioning!.PasswordVersion,
            "the edited Secret to be checked");
        (await mariaDb.LoginAttemptsAsync(admin.LoginName)).Should().Be(adminLogins, "the same password needs no ALTER USER");
        (await kit.EventsAsync()).Should().NotContain(e => e.Reason == "PasswordReset");
        (await CanLogInAsync(user, password)).Should().BeTrue();
    }

    [Fact]
    public async Task Deletion_policy_Delete_drops_the_user_only_after_in_use_protection_lets_go()
    {
        var user = ClusterTestKit.Unique("del_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("gone", user, policy: DeletionPolicy.Delete));
        await kit.WaitForConditionAsync<ClusterCredential>("gone", ConditionTypes.Ready, "True");
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("gone"))["password"];
        run.MarkSecret(password);
        (await UserCountAsync(user)).Should().Be(1);

        await kit.DeleteWhileAPodUsesItAsync("gone", "reporting", async () =>
        {
            (await UserCountAsync(user)).Should().Be(1, "the user stays while a Pod still uses its Secret");
            (await CanLogInAsync(user, password)).Should().BeTrue();
        });

        (await UserCountAsync(user)).Should().Be(0);
        (await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("gone"))).Should().BeNull();
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserDropped" && e.Message.Contains(user, StringComparison.Ordinal)), "a UserDropped event naming the user");
    }

    [Fact]
    public async Task A_forced_deletion_while_a_Pod_still_uses_the_Secret_keeps_the_user_it_logs_in_as()
    {
        var user = ClusterTestKit.Unique("frc_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("forced", user, policy: DeletionPolicy.Delete));
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("forced"))["password"];
        await kit.CreatePodUsingSecretAsync("still-running", "forced");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("forced"), c => c?.Status?.UsedBy?.Count == 1, "the Pod to be counted as a user");

        await kit.PatchAsync<ClusterCredential>("forced", new { metadata = new { annotations = new Dictionary<string, string> { [ApiGroup.ForceDeleteAnnotation] = "true" } } });
        await kit.DeleteAsync<ClusterCredential>("forced");

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("forced"), c => c is null, "the forced deletion to finish");
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "UserKept" && e.Message.Contains("still-running", StringComparison.Ordinal)),
            "a UserKept event naming the Pod");
        (await UserCountAsync(user)).Should().Be(1, "deletionPolicy Delete must not pull the user from under a running Pod");
        (await CanLogInAsync(user, password)).Should().BeTrue();
    }

    [Fact]
    public async Task A_forced_deletion_says_a_user_is_kept_only_of_a_user_the_deletion_would_have_dropped()
    {
        var retained = ClusterTestKit.Unique("rtn_");
        var plain = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("pln_"));
        run.MarkSecret(plain.Password);
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("retained", retained));
        await kit.CreateSecretAsync("plain-input", new Dictionary<string, string> { ["password"] = plain.Password });
        await kit.CreateAsync(specs.Credential("plain", plain.LoginName, s => s.PasswordSecretRef = new SecretKeyReference { Name = "plain-input", Key = "password" }));
        foreach (var name in new[] { "retained", "plain" })
        {
            await kit.WaitForSecretAsync(name);
            await kit.CreatePodUsingSecretAsync($"{name}-user", name);
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>(name), c => c?.Status?.UsedBy?.Count == 1, $"the Pod of {name} to be counted");
            await kit.PatchAsync<ClusterCredential>(name, new { metadata = new { annotations = new Dictionary<string, string> { [ApiGroup.ForceDeleteAnnotation] = "true" } } });
            await kit.DeleteAsync<ClusterCredential>(name);
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>(name), c => c is null, $"the forced deletion of {name}");
        }

        // Neither user was ever to be dropped (deletionPolicy Retain; a login Passbox does not manage): nothing to do by hand.
        var events = await kit.WaitForEventsAsync(seen => seen.Count(e => e.Reason == "ForceDeleted") == 2, "a ForceDeleted event for each");
        events.Should().NotContain(e => e.Reason == "UserKept");
        (await UserCountAsync(retained)).Should().Be(1);
    }

    [Fact]
    public async Task A_drop_whose_admin_login_is_refused_is_tried_again_after_the_admin_interval_not_every_few_seconds()
    {
        var admin = await CreateCountedAdminAsync("moved-admin");
        var user = ClusterTestKit.Unique("stuck_");
        await kit.CreateAsync(specs.Managed("stuck", user, admin: "moved-admin", policy: DeletionPolicy.Delete));
        await kit.WaitForConditionAsync<ClusterCredential>("stuck", ConditionTypes.Ready, "True");
        run.MarkSecret(ClusterTestKit.Decode(await kit.WaitForSecretAsync("stuck"))["password"]);
        // The administrator's password changes behind Passbox's back: its credential stays Ready until its next check (1h).
        var moved = "moved-" + Guid.NewGuid().ToString("N");
        run.MarkSecret(moved);
        await mariaDb.ExecuteAsync($"ALTER USER '{admin.LoginName}'@'%' IDENTIFIED BY '{moved}'");
        var deniedBefore = await mariaDb.GlobalStatusAsync("Access_denied_errors");

        await kit.DeleteAsync<ClusterCredential>("stuck");

        var blocked = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("stuck"),
            c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ValidationReasons.AdminAuthenticationFailed },
            "the drop to be refused at the administrator's login");
        blocked!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.DeletionBlocked).Message
            .Should().Contain(admin.LoginName).And.Contain("validation.interval (1h)");

        // Retried every 15 s, as it was, each attempt would be another refused login as the administrator.
        await Task.Delay(TimeSpan.FromSeconds(20));
        (await mariaDb.GlobalStatusAsync("Access_denied_errors") - deniedBefore).Should().Be(1, "one refused administrator login, then a wait of the admin's interval (1h)");
        (await UserCountAsync(user)).Should().Be(1);

        await kit.PatchAsync<ClusterCredential>("stuck", new { metadata = new { annotations = new Dictionary<string, string> { [ApiGroup.ForceDeleteAnnotation] = "true" } } });
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("stuck"), c => c is null, "the forced deletion to finish");
    }

    [Fact]
    public async Task A_drop_refused_at_the_admins_login_goes_through_as_soon_as_the_admins_Secret_is_fixed_not_an_interval_later()
    {
        var admin = await CreateCountedAdminAsync("fixed-admin");
        var user = ClusterTestKit.Unique("drop_");
        await kit.CreateAsync(specs.Managed("dropping", user, admin: "fixed-admin", policy: DeletionPolicy.Delete));
        await kit.WaitForConditionAsync<ClusterCredential>("dropping", ConditionTypes.Ready, "True");
        run.MarkSecret(ClusterTestKit.Decode(await kit.WaitForSecretAsync("dropping"))["password"]);
        // The administrator's password changes behind Passbox's back: its credential stays Ready until its next check (1h).
        var changed = "changed-" + Guid.NewGuid().ToString("N");
        run.MarkSecret(changed);
        await mariaDb.ExecuteAsync($"ALTER USER '{admin.LoginName}'@'%' IDENTIFIED BY '{changed}'");
        var deniedBefore = await mariaDb.GlobalStatusAsync("Access_denied_errors");

        await kit.DeleteAsync<ClusterCredential>("dropping");
        var blocked = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("dropping"),
            c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ValidationReasons.AdminAuthenticationFailed },
            "the drop to be refused at the administrator's login");
        blocked!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.DeletionBlocked).Message
            .Should().Contain("admin ClusterCredential fixed-admin", "the message names the credential whose Secret to fix");

        // The admin's status records its checks to the second: one in the same second as the refusal could not be told
        // from one before it. A second later it is unambiguous.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await kit.SetSecretValueAsync("fixed-admin-input", "password", changed);

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("dropping"), c => c is null,
            "the deletion to finish once the admin passed its check with the fixed password (its interval is an hour)");
        (await UserCountAsync(user)).Should().Be(0, "the user was dropped with the fixed administrator login");
        (await mariaDb.GlobalStatusAsync("Access_denied_errors") - deniedBefore).Should().Be(1,
            "the refused administrator login was not tried again before the admin's password was fixed");
    }

    [Fact]
    public async Task Deleting_an_admin_waits_until_the_credentials_it_administers_have_dropped_their_users()
    {
        var user = ClusterTestKit.Unique("dep_");
        await CreateAdminAsync("dep-admin");
        await kit.CreateAsync(specs.Managed("dependent", user, admin: "dep-admin", policy: DeletionPolicy.Delete));
        await kit.WaitForConditionAsync<ClusterCredential>("dependent", ConditionTypes.Ready, "True");

        await kit.DeleteAsync<ClusterCredential>("dep-admin");

        var blocked = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("dep-admin"),
            c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ConditionReasons.ProvisionedDependents },
            "the admin's deletion to wait for its dependent");
        blocked!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.DeletionBlocked).Message.Should().Contain("dependent");

        await kit.DeleteAsync<ClusterCredential>("dependent");

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("dependent"), c => c is null, "the dependent to drop its user and go");
        (await UserCountAsync(user)).Should().Be(0, "the admin was still there to drop the user");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("dep-admin"), c => c is null, "the admin to go once nothing depends on it");
    }

    [Fact]
    public async Task Deletion_policy_Retain_keeps_the_user_and_its_password()
    {
        var user = ClusterTestKit.Unique("ret_");
        await CreateAdminAsync();
        await kit.CreateAsync(specs.Managed("kept", user));
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("kept"))["password"];

        await kit.DeleteAsync<ClusterCredential>("kept");

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("kept"), c => c is null, "the credential to go");
        (await UserCountAsync(user)).Should().Be(1);
        (await CanLogInAsync(user, password)).Should().BeTrue();
        ClusterTestKit.Decode((await kit.TryGetSecretAsync(GeneratedPasswordStore.SecretName("kept")))!)["password"].Should().Be(password);
    }

    [Fact]
    public async Task Protected_users_are_refused_by_the_schema_in_any_case()
    {
        await CreateAdminAsync();
        var rootBefore = await mariaDb.ScalarAsync("SELECT authentication_string FROM mysql.user WHERE User = 'root' AND Host = '%'");
        foreach (var name in new[] { "root", "ROOT", "Proxyro" })
        {
            (await kit.RejectedAsync(specs.Managed("root-again", name))).Response.Content.Should().Contain("protected administrator").And.Contain("spec.username");
        }

        (await mariaDb.ScalarAsync("SELECT authentication_string FROM mysql.user WHERE User = 'root' AND Host = '%'")).Should().Be(rootBefore);
    }

    [Fact]
    public async Task The_admin_credential_own_login_is_never_reset()
    {
        var account = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("adm_"));
        await CreateAdminAsync("team-admin", account.LoginName, account.Password);
        await kit.WaitForConditionAsync<ClusterCredential>("team-admin", ConditionTypes.Ready, "True");

        await kit.CreateAsync(specs.Managed("itself", account.LoginName.ToUpperInvariant(), admin: "team-admin"));

        var refused = await kit.WaitForConditionAsync<ClusterCredential>("itself", ConditionTypes.Ready, "False", "ProtectedUser");
        ValidatedMessage(refused).Should().Contain("admin ClusterCredential team-admin");
        (await CanLogInAsync(account.LoginName, account.Password)).Should().BeTrue("the administrator's password must be left alone");
    }

    [Fact]
    public async Task Users_of_the_OceanBase_sys_tenant_are_refused_by_the_schema_in_any_case()
    {
        var user = ClusterTestKit.Unique("ops_");
        var credential = specs.Managed("sys-user", user);
        credential.Spec.Engine = ClusterEngine.OceanBase;

        // Tenant names ignore case on OceanBase, and so does the rule (the operator's own check, for objects stored
        // before the rule, is unit-tested in IdentifierTests).
        foreach (var tenant in new[] { "sys", "SYS", "Sys" })
        {
            credential.Spec.OceanBase = new OceanBaseSettings { Tenant = tenant };
            (await kit.RejectedAsync(credential)).Response.Content.Should().Contain("sys tenant").And.Contain("spec.oceanBase.tenant");
        }

        (await UserCountAsync(user)).Should().Be(0);
    }

    [Fact]
    public async Task An_invalid_user_name_is_rejected_by_the_schema()
    {
        var rejected = await kit.RejectedAsync(specs.Managed("bad-name", "app-rw'; DROP USER root; --"));

        rejected.Response.Content.Should().Contain("spec.username");
    }

    [Fact]
    public async Task An_admin_that_is_not_Ready_is_reported_as_AdminNotReady()
    {
        run.MarkSecret("not-roots-password-1");
        await CreateAdminAsync("broken-admin", password: "not-roots-password-1");
        var user = ClusterTestKit.Unique("wait_");

        await kit.CreateAsync(specs.Managed("waiting", user, admin: "broken-admin"));

        var waiting = await kit.WaitForConditionAsync<ClusterCredential>("waiting", ConditionTypes.Ready, "False", "AdminNotReady");
        ValidatedMessage(waiting).Should().Contain("broken-admin");
        (await UserCountAsync(user)).Should().Be(0);
        (await kit.TryGetSecretAsync("waiting")).Should().BeNull();

        // For kstatus (Flux) the admin, whose login is refused, is the one that failed; the user waits for it.
        var admin = await kit.WaitForConditionAsync<ClusterCredential>("broken-admin", ConditionTypes.Stalled, "True", "AuthenticationFailed");
        admin.Status!.Conditions!.Should().Contain(c => c.Type == ConditionTypes.Ready && c.Status == "False");
        (await kit.GetAsync<ClusterCredential>("waiting"))!.Status!.Conditions!.Should().NotContain(c => c.Type == ConditionTypes.Stalled);
    }

    [Fact]
    public async Task A_user_whose_admin_credential_does_not_exist_is_stalled_for_kstatus_once_it_has_waited_a_minute()
    {
        // A misspelled adminCredentialRef: AdminNotReady, retried with backoff, and a Flux health check would wait out its
        // timeout. Not at once, though: an admin applied together with its users may be seen a moment after them.
        await kit.CreateAsync(specs.Managed("orphan", ClusterTestKit.Unique("orph_"), admin: "no-such-admin"));

        var waiting = await kit.WaitForConditionAsync<ClusterCredential>("orphan", ConditionTypes.Ready, "False", "AdminNotReady");
        ValidatedMessage(waiting).Should().Contain("admin ClusterCredential no-such-admin does not exist");
        waiting.Status!.Conditions!.Should().Contain(c => c.Type == ConditionTypes.Stalled && c.Status == "False" && c.Reason == "AdminNotReady",
            "a False Stalled, which kstatus ignores, marks when the wait began");

        var stalled = await kit.WaitForConditionAsync<ClusterCredential>("orphan", ConditionTypes.Stalled, "True", "AdminNotReady", TimeSpan.FromSeconds(100));
        var ready = stalled.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready);
        var since = stalled.Status.Conditions!.Single(c => c.Type == ConditionTypes.Stalled).LastTransitionTime;
        (since - ready.LastTransitionTime).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_credential_waiting_for_its_admin_is_provisioned_as_soon_as_the_admin_is_Ready_not_when_its_backoff_ends()
    {
        var user = ClusterTestKit.Unique("late_");
        await kit.CreateAsync(specs.Managed("early", user, admin: "late-admin"));

        // Four failed checks (the admin does not exist yet) grow the backoff: the fifth would come 8–16 s after the fourth.
        var failures = new SortedSet<DateTime>();
        await ClusterTestKit.EventuallyAsync(
            async () => (await kit.GetAsync<ClusterCredential>("early"))!,
            early =>
            {
                if (ValidatedReason(early) == ValidationReasons.AdminNotReady && early.Status!.LastAttempted is { } attempted)
                {
                    failures.Add(attempted);
                }

                return failures.Count >= 4;
            },
            "four failed checks of a credential whose admin does not exist",
            TimeSpan.FromSeconds(60));

        // The admin's Ready time is whole seconds: one in the same second as the last failure cannot be told from one
        // before it, and leaves the credential to its backoff. A second later it is unambiguous.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await CreateAdminAsync("late-admin");
        var early = await kit.WaitForConditionAsync<ClusterCredential>("early", ConditionTypes.Ready, "True");

        // Both times are whole seconds: a check woken at once shows 1–3 s after the last failure (the wait above, the
        // admin's check, rounding), the next check of the backoff 8 s at least.
        (early.Status!.LastValidated!.Value - failures.Max).Should().BeLessThan(TimeSpan.FromSeconds(8),
            "the admin's turning Ready wakes the credential; its backoff would have lasted 8 s at least");
        (await UserCountAsync(user)).Should().Be(1);
    }

    [Fact]
    public async Task A_credential_refused_at_its_admins_login_is_provisioned_as_soon_as_the_admins_Secret_is_fixed_not_an_interval_later()
    {
        var admin = await CreateCountedAdminAsync("turned-admin");
        // The administrator's password is changed on the server by hand; its credential stays Ready until its next check (1h).
        var turned = "turned-" + Guid.NewGuid().ToString("N");
        run.MarkSecret(turned);
        await mariaDb.ExecuteAsync($"ALTER USER '{admin.LoginName}'@'%' IDENTIFIED BY '{turned}'");
        var deniedBefore = await mariaDb.GlobalStatusAsync("Access_denied_errors");
        var user = ClusterTestKit.Unique("turn_");

        await kit.CreateAsync(specs.Managed("turned", user, admin: "turned-admin"));

        // Told apart from a refusal of the user's own login, which nothing but its interval (1h) or an edit ends.
        var refused = await kit.WaitForConditionAsync<ClusterCredential>("turned", ConditionTypes.Ready, "False", ValidationReasons.AdminAuthenticationFailed);
        ValidatedMessage(refused).Should().Contain(admin.LoginName).And.Contain("admin ClusterCredential turned-admin");
        (await kit.GetAsync<ClusterCredential>("turned-admin"))!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status
            .Should().Be("True", "the admin's own check is an hour away");

        // The admin's status records its checks to the second: one in the same second as the refusal could not be told
        // from one before it. A second later it is unambiguous.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await kit.SetSecretValueAsync("turned-admin-input", "password", turned);

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("turned", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(30));
        (ready.Status!.LastValidated!.Value - refused.Status!.LastAttempted!.Value).Should().BeLessThan(TimeSpan.FromSeconds(30),
            "the admin passing its check with the fixed password wakes the credential; its interval is an hour");
        var password = ClusterTestKit.Decode(await kit.WaitForSecretAsync("turned"))["password"];
        run.MarkSecret(password);
        (await CanLogInAsync(user, password)).Should().BeTrue();
        (await mariaDb.GlobalStatusAsync("Access_denied_errors") - deniedBefore).Should().Be(1,
            "the refused administrator login was not tried again before the admin's password was fixed");
    }

    [Fact]
    public async Task An_admin_without_the_privilege_to_create_users_is_PermissionDenied()
    {
        var weak = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("weak_"));
        run.MarkSecret(weak.Password);
        await CreateAdminAsync("weak-admin", weak.LoginName, weak.Password);
        await kit.WaitForConditionAsync<ClusterCredential>("weak-admin", ConditionTypes.Ready, "True");
        var user = ClusterTestKit.Unique("deny_");

        await kit.CreateAsync(specs.Managed("denied", user, admin: "weak-admin"));

        var denied = await kit.WaitForConditionAsync<ClusterCredential>("denied", ConditionTypes.Ready, "False", "PermissionDenied");
        ValidatedMessage(denied).Should().Contain(user).And.Contain(weak.LoginName)
            .And.Contain("Give the login of admin ClusterCredential weak-admin CREATE USER", "the message names the credential whose login needs the privilege");
        (await UserCountAsync(user)).Should().Be(0);
    }
}
