using System.Globalization;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Hosting;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.IntegrationTests.Operator;

/// <summary>ClusterCredential against a real MySQL-protocol server (MariaDB), with the real operator running.</summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class ClusterCredentialMySqlTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb) : IAsyncLifetime
{
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "ccred");
        kit = run.Kit;
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    private async Task<MariaDbAccount> NewUserAsync(string loginName)
    {
        var account = await mariaDb.CreateUserAsync(loginName);
        run.MarkSecret(account.Password);
        return account;
    }

    private ClusterCredential Credential(string name, ClusterEngine engine, string username, string sourceSecret, Action<ClusterCredentialSpec>? change = null)
    {
        var credential = new ClusterCredential
        {
            Metadata = new() { Name = name },
            Spec = new ClusterCredentialSpec
            {
                Engine = engine,
                Description = "e2e",
                Endpoint = new DatabaseEndpoint { Host = mariaDb.Host, Port = mariaDb.Port, Tls = new TlsSettings { Mode = TlsMode.Disabled } },
                Username = username,
                PasswordSecretRef = new SecretKeyReference { Name = sourceSecret, Key = "password" },
                Validation = new ValidationSettings { Interval = "1h", Timeout = "3s" },
            },
        };
        change?.Invoke(credential.Spec);
        return credential;
    }

    /// <summary>A Ready MySQL credential <paramref name="name"/> (checked every 2 s) reaching MariaDB through <paramref name="path"/>.</summary>
    private async Task<(MariaDbAccount User, V1Secret Published)> ReadyBehindAsync(TcpForwarder path, string name)
    {
        var user = await NewUserAsync(Unique(name + "_"));
        await kit.CreateSecretAsync($"{name}-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential(name, ClusterEngine.MySQL, user.LoginName, $"{name}-input", s =>
        {
            s.Endpoint.Port = path.Port;
            s.Validation!.Interval = "2s";
        }));
        await kit.WaitForConditionAsync<ClusterCredential>(name, ConditionTypes.Ready, "True");
        return (user, await kit.WaitForSecretAsync(name));
    }

    private static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..(prefix.Length + 8)];

    [Fact]
    public async Task A_good_MySQL_login_publishes_a_Secret_with_exactly_the_documented_keys()
    {
        var user = await NewUserAsync(Unique("app_"));
        await kit.CreateSecretAsync("db-input", new Dictionary<string, string> { ["password"] = user.Password });

        await kit.CreateAsync(Credential("billing", ClusterEngine.MySQL, user.LoginName, "db-input"));

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("billing", ConditionTypes.Ready, "True");
        var data = ClusterTestKit.Decode(await kit.WaitForSecretAsync("billing"));
        data.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["engine"] = "MySQL",
            ["host"] = mariaDb.Host,
            ["port"] = mariaDb.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["username"] = user.LoginName,
            ["password"] = user.Password,
            ["uri"] = $"mysql://{Uri.EscapeDataString(user.LoginName)}:{Uri.EscapeDataString(user.Password)}@{mariaDb.Host}:{mariaDb.Port}",
        });
        ready.Status!.Login.Should().Be(user.LoginName);
        ready.Status.ServerVersion.Should().Contain("MariaDB");
        ready.Status.SecretName.Should().Be("billing");
        ready.Metadata.Finalizers.Should().Contain(ApiGroup.InUseFinalizer);
        var secret = (await kit.TryGetSecretAsync("billing"))!;
        secret.Metadata.OwnerReferences.Should().ContainSingle(o => o.Uid == ready.Metadata.Uid && o.Controller == true);
        secret.Metadata.Labels.Should().Contain(ApiGroup.ManagedByLabel, "passbox").And.Contain(ApiGroup.CredentialLabel, "billing");
    }

    [Fact]
    public async Task A_credential_let_go_by_removing_its_finalizer_by_hand_is_forgotten()
    {
        var user = await NewUserAsync(Unique("app_"));
        await kit.CreateSecretAsync("orphan-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("orphan", ClusterEngine.MySQL, user.LoginName, "orphan-input"));
        var uid = (await kit.WaitForConditionAsync<ClusterCredential>("orphan", ConditionTypes.Ready, "True")).Metadata.Uid;
        var memory = run.Host.Services.GetRequiredService<CheckMemory>();
        Remembered(memory, uid).Should().BeTrue("the operator remembers its own check");

        // In use, the deletion waits; the impatient user removes the finalizer, and the operator's cleanup never runs.
        await kit.CreatePodUsingSecretAsync("orphan-app", "orphan");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orphan"), c => c?.Status?.UsedBy?.Count == 1, "the Pod to count as a user");
        await kit.DeleteAsync<ClusterCredential>("orphan");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("orphan"),
            c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True" }, "the deletion to wait for the Pod");
        await kit.PatchAsync<ClusterCredential>("orphan", new { metadata = new { finalizers = Array.Empty<string>() } });

        await ClusterTestKit.EventuallyAsync(() => Task.FromResult(Remembered(memory, uid)), remembered => !remembered,
            "the operator to forget the vanished credential");
        (await kit.GetAsync<ClusterCredential>("orphan")).Should().BeNull();
    }

    [Fact]
    public async Task A_pass_from_a_copy_older_than_the_last_status_write_writes_nothing_over_it_and_is_repeated()
    {
        var user = await NewUserAsync(Unique("lag_"));
        await kit.CreateSecretAsync("lag-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("lagging", ClusterEngine.MySQL, user.LoginName, "lag-input"));
        var stale = await kit.WaitForConditionAsync<ClusterCredential>("lagging", ConditionTypes.Ready, "True");

        // A new version of the source Secret (a label) is checked and written.
        var newer = await CheckNewSourceVersionAsync("lagging", "lag-input", stale);

        // A reconcile handed the copy from before that write, as a cache that lags would (past the few seconds in which
        // the reconciler itself waits for its own write to show).
        await Task.Delay(CheckMemory.CacheLagAllowance + TimeSpan.FromSeconds(1));
        var reconciler = run.Host.Services.GetRequiredService<CredentialReconciler<ClusterCredential, ClusterCredentialStatus>>();
        var result = await reconciler.ReconcileAsync(stale, CancellationToken.None);

        result.UseBackoff.Should().BeTrue("the pass is repeated from a fresher copy");
        var after = (await kit.GetAsync<ClusterCredential>("lagging"))!.Status!;
        after.LastAttempted.Should().Be(newer.Status!.LastAttempted, "nothing was written over the newer status");
        after.AttemptedRevision.Should().Be(newer.Status.AttemptedRevision);
        after.PublishedRevision.Should().Be(after.AttemptedRevision);
        after.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_blocked_deletion_from_a_copy_older_than_the_last_status_write_keeps_that_write()
    {
        var user = await NewUserAsync(Unique("dellag_"));
        await kit.CreateSecretAsync("dellag-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("del-lagging", ClusterEngine.MySQL, user.LoginName, "dellag-input"));
        var stale = await kit.WaitForConditionAsync<ClusterCredential>("del-lagging", ConditionTypes.Ready, "True");
        await kit.CreatePodUsingSecretAsync("dellag-app", "del-lagging");

        // A new version of the source Secret is checked and written; then the deletion is blocked by the Pod.
        var newer = await CheckNewSourceVersionAsync("del-lagging", "dellag-input", stale);
        await kit.DeleteAsync<ClusterCredential>("del-lagging");
        var blocked = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("del-lagging"),
            c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True" },
            "the deletion to be blocked by the Pod");

        // A deletion pass handed the status from before the check (and that copy's resourceVersion), as a lagging cache would.
        // (A copy that shows the deletion also shows the generation the deletion gave the object.)
        stale.Metadata.DeletionTimestamp = blocked!.Metadata.DeletionTimestamp;
        stale.Metadata.Generation = blocked.Metadata.Generation;
        stale.Metadata.Finalizers = blocked.Metadata.Finalizers;
        var reconciler = run.Host.Services.GetRequiredService<CredentialReconciler<ClusterCredential, ClusterCredentialStatus>>();
        await reconciler.ReconcileAsync(stale, CancellationToken.None);

        var after = (await kit.GetAsync<ClusterCredential>("del-lagging"))!.Status!;
        after.AttemptedRevision.Should().Be(newer.Status!.AttemptedRevision, "the deletion pass did not write its older copy back");
        after.LastAttempted.Should().Be(newer.Status.LastAttempted);
        after.Conditions!.Single(c => c.Type == ConditionTypes.DeletionBlocked).Status.Should().Be("True");
        after.UsedBy!.Count.Should().Be(1);

        await kit.DeletePodAsync("dellag-app");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("del-lagging"), c => c is null, "the credential to go once the Pod is gone");
    }

    /// <summary>Labels the source Secret (a new version of it) and waits until the credential has checked and published it.</summary>
    private async Task<ClusterCredential> CheckNewSourceVersionAsync(string credential, string sourceSecret, ClusterCredential before)
    {
        await controlPlane.Admin.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"metadata":{"labels":{"team":"billing"}}}""", V1Patch.PatchType.MergePatch),
            sourceSecret, run.Namespace);
        return (await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>(credential),
            c => c?.Status is { } s && s.AttemptedRevision != before.Status!.AttemptedRevision && s.PublishedRevision == s.AttemptedRevision,
            "the new version to be checked and published"))!;
    }

    private static bool Remembered(CheckMemory memory, string uid) => memory.Remembers(uid);

    [Fact]
    public async Task OceanBase_through_OBProxy_logs_in_as_user_at_tenant_hash_cluster()
    {
        var tenantUser = Unique("ob_");
        var account = await NewUserAsync($"{tenantUser}@orders#obcluster");
        await kit.CreateSecretAsync("ob-input", new Dictionary<string, string> { ["password"] = account.Password });

        await kit.CreateAsync(Credential("orders-ob", ClusterEngine.OceanBase, tenantUser, "ob-input",
            s => s.OceanBase = new OceanBaseSettings { Tenant = "orders", Cluster = "obcluster" }));

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("orders-ob", ConditionTypes.Ready, "True");
        ready.Status!.Login.Should().Be($"{tenantUser}@orders#obcluster");
        var data = ClusterTestKit.Decode(await kit.WaitForSecretAsync("orders-ob"));
        data["username"].Should().Be($"{tenantUser}@orders#obcluster");
        data["tenant"].Should().Be("orders");
        data["cluster"].Should().Be("obcluster");
    }

    [Fact]
    public async Task A_wrong_password_publishes_nothing_and_is_not_retried_before_the_interval()
    {
        var user = await NewUserAsync(Unique("bad_"));
        await kit.CreateSecretAsync("bad-input", new Dictionary<string, string> { ["password"] = "not-the-password-42" });
        run.MarkSecret("not-the-password-42");
        // Refused logins are not in the per-user statistics (the user never authenticated): count them server-wide.
        // Tests of this collection run one at a time against this collection's own server.
        var deniedBefore = await mariaDb.GlobalStatusAsync("Access_denied_errors");

        await kit.CreateAsync(Credential("bad", ClusterEngine.MySQL, user.LoginName, "bad-input"));

        var failed = await kit.WaitForConditionAsync<ClusterCredential>("bad", ConditionTypes.Validated, "False", "AuthenticationFailed");
        failed.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be("AuthenticationFailed");
        failed.Status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Reason.Should().Be(ConditionReasons.WaitingForValidation);
        // Where to fix it, and that a password changed on the server alone is not looked at again for an interval.
        failed.Status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Message.Should()
            .Contain($"Secret {run.Namespace}/bad-input key \"password\" (spec.passwordSecretRef)")
            .And.Contain("validation.interval (1h)");

        // Reconciles triggered by edits that do not change the login must not log in again.
        for (var i = 0; i < 3; i++)
        {
            await kit.PatchAsync<ClusterCredential>("bad", new { metadata = new { annotations = new Dictionary<string, string> { ["touch"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } } });
            await Task.Delay(700);
        }

        (await mariaDb.GlobalStatusAsync("Access_denied_errors") - deniedBefore).Should().Be(1, "a refused login waits a full interval (1h)");
        (await kit.TryGetSecretAsync("bad")).Should().BeNull("nothing is published before a check succeeds");
    }

    [Fact]
    public async Task A_changed_password_is_validated_and_published_within_seconds()
    {
        var user = await NewUserAsync(Unique("rot_"));
        await kit.CreateSecretAsync("rot-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("rot", ClusterEngine.MySQL, user.LoginName, "rot-input"));
        await kit.WaitForConditionAsync<ClusterCredential>("rot", ConditionTypes.Ready, "True");

        var newPassword = MariaDbFixture.NewPassword();
        run.MarkSecret(newPassword);
        await mariaDb.ExecuteAsync($"ALTER USER '{user.LoginName}'@'%' IDENTIFIED BY '{newPassword.Replace("'", "''", StringComparison.Ordinal)}'");
        var started = DateTime.UtcNow;
        await kit.SetSecretValueAsync("rot-input", "password", newPassword);

        await kit.WaitForSecretAsync("rot", s => ClusterTestKit.Decode(s)["password"] == newPassword, TimeSpan.FromSeconds(15));
        (DateTime.UtcNow - started).Should().BeLessThan(TimeSpan.FromSeconds(15));
        await kit.WaitForConditionAsync<ClusterCredential>("rot", ConditionTypes.Ready, "True");
    }

    [Fact]
    public async Task Unrelated_Secrets_are_not_held_in_memory_and_a_change_of_a_source_still_arrives()
    {
        for (var i = 0; i < 5; i++)
        {
            await kit.CreateSecretAsync($"unrelated-{i}", new Dictionary<string, string> { ["value"] = "not a source" });
        }

        var user = await NewUserAsync(Unique("mem_"));
        await kit.CreateSecretAsync("mem-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("mem", ClusterEngine.MySQL, user.LoginName, "mem-input"));
        await kit.WaitForConditionAsync<ClusterCredential>("mem", ConditionTypes.Ready, "True");

        // The edit is the first the source informer may hear of mem-input while a credential reads it.
        run.MarkSecret("not-the-password-43");
        await kit.SetSecretValueAsync("mem-input", "password", "not-the-password-43");
        await kit.WaitForConditionAsync<ClusterCredential>("mem", ConditionTypes.Validated, "False", "AuthenticationFailed");

        var held = run.Host.Services.GetInformer<PartialObjectMetadata>(PassboxOperator.SourceSecrets).Cache.Keys().Select(key => key.Name).ToList();
        held.Should().Contain("mem-input").And.NotContain(name => name.StartsWith("unrelated-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deleting_a_credential_whose_status_does_not_name_its_Secret_yet_still_removes_the_Secret()
    {
        var user = await NewUserAsync(Unique("early_"));
        await kit.CreateSecretAsync("early-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("early", ClusterEngine.MySQL, user.LoginName, "early-input"));
        await kit.WaitForConditionAsync<ClusterCredential>("early", ConditionTypes.Ready, "True");

        // As when the credential is deleted while the reconcile that created the Secret is still writing its status:
        // the Secret exists, the status does not name it.
        await run.StopOperatorAsync();
        await kit.PatchStatusAsync<ClusterCredential>("early", System.Text.Json.Nodes.JsonNode.Parse("""{"status":{"secretName":null}}""")!);
        (await kit.GetAsync<ClusterCredential>("early"))!.Status!.SecretName.Should().BeNull();
        await kit.DeleteAsync<ClusterCredential>("early");
        await run.StartOperatorAsync();

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("early"), c => c is null, "the credential to go");
        (await kit.TryGetSecretAsync("early")).Should().BeNull("the Secret it generated goes with it, named in its status or not");
    }

    [Fact]
    public async Task A_server_that_goes_away_under_a_Ready_credential_keeps_its_Secret_and_is_Ready_again_when_back()
    {
        await using var path = TcpForwarder.Start(mariaDb.Host, mariaDb.Port);
        var (_, published) = await ReadyBehindAsync(path, "outage");

        // The database host goes down: the next periodic check cannot connect.
        await path.CutAsync();
        var down = await kit.WaitForConditionAsync<ClusterCredential>("outage", ConditionTypes.Ready, "False", "Unreachable", timeout: TimeSpan.FromSeconds(20));
        down.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Message.Should().Contain(path.Port.ToString(CultureInfo.InvariantCulture), "the message names where it could not connect");
        var kept = (await kit.TryGetSecretAsync("outage"))!;
        kept.Metadata.ResourceVersion.Should().Be(published.Metadata.ResourceVersion, "workloads keep the Secret through an outage");

        // Back: the retries (backed off, at most the interval apart) find it and the credential is Ready again.
        path.Restore();
        var back = await kit.WaitForConditionAsync<ClusterCredential>("outage", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(20));
        back.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
        (await kit.TryGetSecretAsync("outage"))!.Metadata.ResourceVersion.Should().Be(published.Metadata.ResourceVersion,
            "the same data is not written again");

        // The log tells the outage once and the recovery once, whatever the retries in between found; the first pass
        // added no line of its own beside the created Secret's.
        var told = run.Host.LogLines.Where(line => line.Contains($"ClusterCredential {run.Namespace}/outage is ", StringComparison.Ordinal)).ToList();
        told.Should().HaveCount(2, "one line per change of Ready: {0}", string.Join(Environment.NewLine, told));
        told[0].Should().Contain("is not Ready: Unreachable (was Ready, Validated)").And.Contain(path.Port.ToString(CultureInfo.InvariantCulture));
        told[1].Should().Contain("is Ready: Validated (was not Ready, Unreachable)");
    }

    [Fact]
    public async Task A_server_that_hangs_ends_in_Timeout_keeps_the_Secret_and_holds_up_no_other_credential()
    {
        await using var path = TcpForwarder.Start(mariaDb.Host, mariaDb.Port);
        var (user, published) = await ReadyBehindAsync(path, "hang");

        // The host accepts connections and never answers: each check waits its timeout (3 s), and no longer.
        path.Stall();
        var hung = await kit.WaitForConditionAsync<ClusterCredential>("hang", ConditionTypes.Ready, "False", "Timeout", timeout: TimeSpan.FromSeconds(20));
        hung.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Message.Should().Contain("3s", "the message says how long it waited");

        // More credentials than the operator has workers (4) now wait on the hung host; another credential is still
        // checked and published as usual, since no check holds its worker past its timeout.
        var alsoHung = Enumerable.Range(2, 4).Select(i => $"hang-{i}").ToList();
        foreach (var name in alsoHung)
        {
            await kit.CreateAsync(Credential(name, ClusterEngine.MySQL, user.LoginName, "hang-input", s => s.Endpoint.Port = path.Port));
        }

        var other = await NewUserAsync(Unique("beside_"));
        await kit.CreateSecretAsync("beside-input", new Dictionary<string, string> { ["password"] = other.Password });
        await kit.CreateAsync(Credential("beside", ClusterEngine.MySQL, other.LoginName, "beside-input"));
        await kit.WaitForConditionAsync<ClusterCredential>("beside", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(15));
        (await kit.TryGetSecretAsync("hang"))!.Metadata.ResourceVersion.Should().Be(published.Metadata.ResourceVersion, "workloads keep the Secret");
        foreach (var name in alsoHung)
        {
            await kit.WaitForConditionAsync<ClusterCredential>(name, ConditionTypes.Validated, "False", "Timeout", timeout: TimeSpan.FromSeconds(20));
        }

        path.Restore();
        await kit.WaitForConditionAsync<ClusterCredential>("hang", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_credential_fixed_while_its_check_hangs_is_checked_with_the_fix_at_once_and_the_old_check_says_nothing()
    {
        await using var path = TcpForwarder.Start(mariaDb.Host, mariaDb.Port);
        path.Stall();
        var user = await NewUserAsync(Unique("edit_"));
        await kit.CreateSecretAsync("edit-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("edit", ClusterEngine.MySQL, user.LoginName, "edit-input", s =>
        {
            s.Endpoint.Port = path.Port;
            s.Validation!.Timeout = "30s";
        }));

        // The first check waits on a host that never answers (validation.timeout 30s); the user fixes the port meanwhile.
        await ClusterTestKit.EventuallyAsync(() => Task.FromResult(path.OpenConnections), open => open > 0, "the check to wait on the hanging host");
        var fixing = System.Diagnostics.Stopwatch.StartNew();
        await kit.PatchAsync<ClusterCredential>("edit", new { spec = new { endpoint = new { port = mariaDb.Port } } });

        // The check of the port that is gone is cancelled by the edit, not waited for: the fix is checked at once.
        await kit.WaitForConditionAsync<ClusterCredential>("edit", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(20));
        fixing.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the fix is tried without waiting out the old check's 30 s");
        ClusterTestKit.Decode((await kit.TryGetSecretAsync("edit"))!)["port"].Should().Be(mariaDb.Port.ToString(CultureInfo.InvariantCulture));
        var said = (await kit.EventsAsync()).Where(e => e.InvolvedObject.Name == "edit").Select(e => e.Reason).ToList();
        said.Should().NotContain("Timeout", "the superseded check's result is not reported after the fix").And.Contain("SecretCreated");
    }

    [Fact]
    public async Task A_bad_new_password_after_a_good_one_keeps_the_last_good_Secret()
    {
        var user = await NewUserAsync(Unique("keep_"));
        await kit.CreateSecretAsync("keep-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("keep", ClusterEngine.MySQL, user.LoginName, "keep-input"));
        await kit.WaitForConditionAsync<ClusterCredential>("keep", ConditionTypes.Ready, "True");
        var before = await kit.WaitForSecretAsync("keep");

        run.MarkSecret("typo-in-the-new-password");
        await kit.SetSecretValueAsync("keep-input", "password", "typo-in-the-new-password");

        var failed = await kit.WaitForConditionAsync<ClusterCredential>("keep", ConditionTypes.Validated, "False", "AuthenticationFailed");
        var after = (await kit.TryGetSecretAsync("keep"))!;
        ClusterTestKit.Decode(after)["password"].Should().Be(user.Password, "workloads keep the last good Secret");
        after.Metadata.ResourceVersion.Should().Be(before.Metadata.ResourceVersion);
        failed.Status!.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Message.Should().Contain("keeping Secret keep");
    }

    [Fact]
    public async Task A_Secret_deleted_or_edited_by_hand_is_repaired()
    {
        var user = await NewUserAsync(Unique("fix_"));
        await kit.CreateSecretAsync("fix-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("fix", ClusterEngine.MySQL, user.LoginName, "fix-input"));
        var first = await kit.WaitForSecretAsync("fix");

        // The Secret's finalizer holds it a moment after the delete, until the operator lets it go and publishes anew.
        await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("fix", run.Namespace);
        await kit.WaitForSecretAsync("fix", s => s.Metadata.Uid != first.Metadata.Uid && ClusterTestKit.Decode(s)["password"] == user.Password, TimeSpan.FromSeconds(15));

        var recreated = await kit.WaitForEventsAsync(seen => seen.Any(e => e.InvolvedObject.Name == "fix" && e.Reason == "SecretRepaired"), "a SecretRepaired event");
        recreated.Single(e => e.InvolvedObject.Name == "fix" && e.Reason == "SecretRepaired").Message
            .Should().Be("Secret fix recreated: it had been deleted while its credential lives", "the event says why it was written");

        await kit.SetSecretValueAsync("fix", "password", "edited-by-hand");
        await kit.WaitForSecretAsync("fix", s => ClusterTestKit.Decode(s)["password"] == user.Password, TimeSpan.FromSeconds(15));
        (await mariaDb.LoginAttemptsAsync(user.LoginName)).Should().Be(1, "repairing the Secret needs no new login");
        var repaired = await kit.WaitForEventsAsync(seen => seen.Count(e => e.InvolvedObject.Name == "fix" && e.Reason == "SecretRepaired") == 2, "a second SecretRepaired event");
        repaired.Should().ContainSingle(e => e.InvolvedObject.Name == "fix" && e.Reason == "SecretRepaired"
            && e.Message == "Secret fix repaired: data key \"password\" had been edited or removed by hand", "it names the key, never a value");
        repaired.Should().NotContain(e => e.InvolvedObject.Name == "fix" && e.Reason == "SecretUpdated");
    }

    [Fact]
    public async Task A_foreign_Secret_with_the_same_name_is_left_alone()
    {
        var user = await NewUserAsync(Unique("own_"));
        await kit.CreateSecretAsync("taken", new Dictionary<string, string> { ["mine"] = "do not touch" });
        await kit.CreateSecretAsync("own-input", new Dictionary<string, string> { ["password"] = user.Password });

        await kit.CreateAsync(Credential("own", ClusterEngine.MySQL, user.LoginName, "own-input", s => s.Secret = new GeneratedSecretSettings { Name = "taken" }));

        var conflict = await kit.WaitForConditionAsync<ClusterCredential>("own", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretConflict);
        conflict.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretConflict);
        var foreign = (await kit.TryGetSecretAsync("taken"))!;
        ClusterTestKit.Decode(foreign).Should().Equal(new Dictionary<string, string> { ["mine"] = "do not touch" });
        foreign.Metadata.OwnerReferences.Should().BeNullOrEmpty();
    }

    [Fact]
    public async Task A_missing_source_Secret_is_reported_and_Ready_follows_as_soon_as_it_appears()
    {
        var user = await NewUserAsync(Unique("late_"));
        await kit.CreateAsync(Credential("late", ClusterEngine.MySQL, user.LoginName, "late-input"));

        var missing = await kit.WaitForConditionAsync<ClusterCredential>("late", ConditionTypes.Ready, "False", ConditionReasons.SourceSecretMissing);
        missing.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Message.Should()
            .Contain("Secret " + run.Namespace + "/late-input (named by spec.passwordSecretRef) does not exist").And.Contain("password");

        // Created with the password under another key: SecretSynced says what is missing, not that the Secret is.
        await kit.CreateSecretAsync("late-input", new Dictionary<string, string> { ["pass"] = user.Password });
        var keyMissing = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("late"),
            c => c!.Status?.Conditions?.Find(x => x.Type == ConditionTypes.Validated)?.Message.Contains("no non-empty key", StringComparison.Ordinal) == true,
            "the missing key to be reported");
        keyMissing!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Message.Should()
            .Contain("has no non-empty key \"password\" (keys: pass)").And.NotContain("until the source Secret exists");

        await kit.SetSecretValueAsync("late-input", "password", user.Password);
        await kit.WaitForConditionAsync<ClusterCredential>("late", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task An_unreachable_server_is_reported_and_retried_with_backoff()
    {
        await kit.CreateSecretAsync("down-input", new Dictionary<string, string> { ["password"] = "irrelevant-pw-1" });
        run.MarkSecret("irrelevant-pw-1");
        var closedPort = LoopbackPorts.Unused();

        await kit.CreateAsync(Credential("down", ClusterEngine.MySQL, "nobody", "down-input", s => s.Endpoint.Port = closedPort));

        var down = await kit.WaitForConditionAsync<ClusterCredential>("down", ConditionTypes.Ready, "False", "Unreachable");
        var firstAttempt = down.Status!.LastAttempted;
        var retried = await ClusterTestKit.EventuallyAsync(
            () => kit.GetAsync<ClusterCredential>("down"),
            c => c!.Status!.LastAttempted > firstAttempt,
            "a retry of the unreachable server",
            TimeSpan.FromSeconds(20));
        retried!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Reason.Should().Be("Unreachable");
    }

    [Fact]
    public async Task A_Ready_credential_is_checked_every_interval_without_writing_the_credential()
    {
        var user = await NewUserAsync(Unique("idle_"));
        await kit.CreateSecretAsync("idle-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("idle", ClusterEngine.MySQL, user.LoginName, "idle-input", s => s.Validation!.Interval = "2s"));
        var ready = await kit.WaitForConditionAsync<ClusterCredential>("idle", ConditionTypes.Ready, "True");
        var logins = await mariaDb.LoginAttemptsAsync(user.LoginName);

        await ClusterTestKit.EventuallyAsync(
            () => mariaDb.LoginAttemptsAsync(user.LoginName),
            n => n >= logins + 3,
            "three more periodic logins",
            TimeSpan.FromSeconds(30));

        var idle = await kit.GetAsync<ClusterCredential>("idle");
        idle!.Metadata.ResourceVersion.Should().Be(ready.Metadata.ResourceVersion, "checks that confirm the status write nothing");
        idle.Status!.LastValidated.Should().Be(ready.Status!.LastValidated, "lastValidated records when the outcome last changed");
        idle.Status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");

        // A password changed on the server behind the operator's back: the next periodic check fails and says so at once.
        await NewUserAsync(user.LoginName);
        var refused = await kit.WaitForConditionAsync<ClusterCredential>("idle", ConditionTypes.Validated, "False", "AuthenticationFailed", timeout: TimeSpan.FromSeconds(15));
        refused.Status!.LastAttempted.Should().BeAfter(ready.Status.LastAttempted!.Value);
    }

    [Fact]
    public async Task A_first_publication_is_one_event_and_a_login_that_works_again_is_its_own()
    {
        var user = await NewUserAsync(Unique("told_"));
        await kit.CreateSecretAsync("told-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("told", ClusterEngine.MySQL, user.LoginName, "told-input", s => s.Validation!.Interval = "2s"));
        await kit.WaitForConditionAsync<ClusterCredential>("told", ConditionTypes.Ready, "True");

        // Events are written in order by one background writer: once SecretCreated is there, anything queued before it is too.
        var first = await kit.WaitForEventsAsync(seen => seen.Any(e => e.InvolvedObject.Name == "told" && e.Reason == "SecretCreated"), "a SecretCreated event");
        first.Where(e => e.InvolvedObject.Name == "told").Should().ContainSingle("the first login and the Secret it published are one story")
            .Which.Message.Should().StartWith("Secret told created after a successful check").And.Contain($"as '{user.LoginName}'");
        var published = await kit.WaitForSecretAsync("told");

        // The password changed on the server and back: a Warning, then the recovery told on its own (the Secret was never touched).
        await mariaDb.CreateUserAsync(user.LoginName, "a-different-password-1");
        run.MarkSecret("a-different-password-1");
        await kit.WaitForConditionAsync<ClusterCredential>("told", ConditionTypes.Validated, "False", "AuthenticationFailed", timeout: TimeSpan.FromSeconds(15));
        await mariaDb.CreateUserAsync(user.LoginName, user.Password);
        await kit.WaitForConditionAsync<ClusterCredential>("told", ConditionTypes.Validated, "True", timeout: TimeSpan.FromSeconds(15));

        var later = await kit.WaitForEventsAsync(seen => seen.Any(e => e.InvolvedObject.Name == "told" && e.Reason == Passbox.Operator.Connectors.ValidationReasons.Validated), "a Validated event");
        later.Where(e => e.InvolvedObject.Name == "told").Select(e => (e.Type, e.Reason)).Should().BeEquivalentTo(
            [("Normal", "SecretCreated"), ("Warning", Passbox.Operator.Connectors.ValidationReasons.AuthenticationFailed), ("Normal", Passbox.Operator.Connectors.ValidationReasons.Validated)]);
        (await kit.TryGetSecretAsync("told"))!.Metadata.ResourceVersion.Should().Be(published.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Changing_only_the_description_does_not_log_in_again()
    {
        var user = await NewUserAsync(Unique("desc_"));
        await kit.CreateSecretAsync("desc-input", new Dictionary<string, string> { ["password"] = user.Password });
        await kit.CreateAsync(Credential("desc", ClusterEngine.MySQL, user.LoginName, "desc-input"));
        await kit.WaitForConditionAsync<ClusterCredential>("desc", ConditionTypes.Ready, "True");

        await kit.PatchAsync<ClusterCredential>("desc", new { spec = new { description = "now read-only reporting" } });

        var updated = await kit.WaitForConditionAsync<ClusterCredential>("desc", ConditionTypes.Ready, "True");
        updated.Spec.Description.Should().Be("now read-only reporting");
        (await mariaDb.LoginAttemptsAsync(user.LoginName)).Should().Be(1);
    }
}
