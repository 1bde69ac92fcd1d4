using System.Globalization;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Shipping;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// Many ClusterCredentials reading one source Secret (a team's shared admin password): the operator reads the Secret
/// from the API server once per version it sees, not once per reconcile, and a new password in it still reaches every
/// credential. The operator's GETs of the Secret are counted in the control plane's audit log.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class SharedSourceSecretTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Credentials = 8;
    private const string Source = "shared-input";

    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "shared");
        kit = run.Kit;
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    [SkippableFact]
    public async Task Credentials_sharing_a_source_Secret_read_it_once_per_version_and_all_follow_a_new_password()
    {
        var audit = controlPlane.AuditLog;
        Skip.If(audit is null, $"{ControlPlaneFixture.ExistingClusterVariable} is set: the audit log of an existing cluster is not readable");

        var user = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("shr_"));
        run.MarkSecret(user.Password);
        await kit.CreateSecretAsync(Source, new Dictionary<string, string> { ["password"] = user.Password });

        // The first credential brings the namespace into the operator's scope and the Secret into its source-Secret
        // informer; the credentials after it read the unchanged Secret from memory. Created all at once, their first
        // reads race the informer's fill (4 GETs with 4 workers on a quiet machine, 8 of 8 on a loaded one).
        var start = audit.Mark();
        await kit.CreateAsync(mariaDb.MySqlCredential(Name(0), user.LoginName, Source));
        await kit.WaitForConditionAsync<ClusterCredential>(Name(0), ConditionTypes.Ready, "True");
        for (var i = 1; i < Credentials; i++)
        {
            await kit.CreateAsync(mariaDb.MySqlCredential(Name(i), user.LoginName, Source));
        }

        for (var i = 0; i < Credentials; i++)
        {
            await kit.WaitForConditionAsync<ClusterCredential>(Name(i), ConditionTypes.Ready, "True");
        }

        var firstGets = GetsOfSource(audit, start);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Credentials} credentials Ready after {firstGets} GETs of {Source}"));
        firstGets.Should().BeInRange(1, Credentials - 1, "credentials that read an unchanged Secret are answered from memory");

        var newPassword = MariaDbFixture.NewPassword();
        run.MarkSecret(newPassword);
        await mariaDb.ExecuteAsync($"ALTER USER '{user.LoginName}'@'%' IDENTIFIED BY '{newPassword.Replace("'", "''", StringComparison.Ordinal)}'");
        var rotated = audit.Mark();
        await kit.SetSecretValueAsync(Source, "password", newPassword);

        for (var i = 0; i < Credentials; i++)
        {
            await kit.WaitForSecretAsync(Name(i), s => ClusterTestKit.Decode(s)["password"] == newPassword);
        }

        for (var i = 0; i < Credentials; i++)
        {
            await kit.WaitForConditionAsync<ClusterCredential>(Name(i), ConditionTypes.Ready, "True");
        }

        var rotationGets = GetsOfSource(audit, rotated);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"all {Credentials} published the new password after {rotationGets} GETs of {Source}"));
        rotationGets.Should().BeGreaterThan(0, "the new version is read from the API server");
    }

    [Fact]
    public async Task Credentials_sharing_a_user_refused_together_make_a_few_refused_logins_and_heal_after_a_rotation_in_either_order()
    {
        // Each credential was refused once: 200 of them, 200 refused logins of an account that workloads use, enough for
        // MariaDB's max_password_errors or MySQL's FAILED_LOGIN_ATTEMPTS to lock it.
        const int Storm = 12;
        const string StormSource = "storm-input";
        var user = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("stm_"));
        run.MarkSecret(user.Password);
        await kit.CreateSecretAsync(StormSource, new Dictionary<string, string> { ["password"] = user.Password });
        for (var i = 0; i < Storm; i++)
        {
            await kit.CreateAsync(mariaDb.MySqlCredential(StormName(i), user.LoginName, StormSource));
        }

        for (var i = 0; i < Storm; i++)
        {
            await kit.WaitForConditionAsync<ClusterCredential>(StormName(i), ConditionTypes.Ready, "True");
        }

        // Secret first, then the database: the new password is refused until the server has it.
        var refusedBefore = await mariaDb.RefusedLoginsAsync(user.LoginName);
        var secretFirst = MariaDbFixture.NewPassword();
        run.MarkSecret(secretFirst);
        await kit.SetSecretValueAsync(StormSource, "password", secretFirst);
        for (var i = 0; i < Storm; i++)
        {
            await kit.WaitForConditionAsync<ClusterCredential>(StormName(i), ConditionTypes.Validated, "False", ValidationReasons.AuthenticationFailed);
        }

        var storm = await mariaDb.RefusedLoginsAsync(user.LoginName) - refusedBefore;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Storm} credentials refused after {storm} refused logins of the user"));
        storm.Should().BeInRange(1, 2, "identical logins share one attempt and its refusal");

        await mariaDb.ExecuteAsync($"ALTER USER '{user.LoginName}'@'%' IDENTIFIED BY '{secretFirst.Replace("'", "''", StringComparison.Ordinal)}'");
        var healed = await ClusterTestKit.EventuallyAsync(
            async () =>
            {
                var ready = 0;
                for (var i = 0; i < Storm; i++)
                {
                    ready += ClusterTestKit.StatusOf(await kit.GetAsync<ClusterCredential>(StormName(i)))?.Conditions?
                        .Exists(c => c.Type == ConditionTypes.Ready && c.Status == "True") == true ? 1 : 0;
                }

                return ready;
            },
            ready => ready >= Storm - (int)storm,
            "the credentials answered with another's refusal log in once more when it is no longer reused",
            SharedLogins.RefusalKept + TimeSpan.FromSeconds(30));
        var afterHealing = await mariaDb.RefusedLoginsAsync(user.LoginName) - refusedBefore;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{healed} of {Storm} Ready again after the server took the password; {afterHealing} refused logins in all"));
        afterHealing.Should().BeLessThanOrEqualTo(2);

        // The database first, then the Secret: the new password is a new login, checked at once by every credential.
        var databaseFirst = MariaDbFixture.NewPassword();
        run.MarkSecret(databaseFirst);
        await mariaDb.ExecuteAsync($"ALTER USER '{user.LoginName}'@'%' IDENTIFIED BY '{databaseFirst.Replace("'", "''", StringComparison.Ordinal)}'");
        await kit.SetSecretValueAsync(StormSource, "password", databaseFirst);
        for (var i = 0; i < Storm; i++)
        {
            await kit.WaitForSecretAsync(StormName(i), s => ClusterTestKit.Decode(s)["password"] == databaseFirst);
        }

        (await mariaDb.RefusedLoginsAsync(user.LoginName) - refusedBefore).Should().Be(afterHealing, "the new password logs in at once");
    }

    private static string StormName(int i) => string.Create(CultureInfo.InvariantCulture, $"storm-{i}");

    private static int GetsOfSource(ControlPlaneAuditLog audit, AuditMark mark) => audit.Since(mark, OperatorRbacTests.OperatorUser)
        .Count(e => e.Verb == "get" && e.Resource == "secrets" && e.RequestUri.Split('?')[0].EndsWith($"/secrets/{Source}", StringComparison.Ordinal));

    private static string Name(int i) => string.Create(CultureInfo.InvariantCulture, $"shared-{i}");
}
