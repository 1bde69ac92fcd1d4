using System.Diagnostics;
using System.Globalization;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Operator;
using Passbox.Operator.Api.V1Alpha1;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// What an idle operator costs the API server: with 100 credentials Ready (90 pipeline, 10 on MariaDB, default
/// validation intervals) and leader election on, the requests of one minute are counted from the audit log.
/// </summary>
[Collection(OperatorRbacDefinition.Name)]
public sealed class IdleOperatorRequestTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb, ITestOutputHelper output)
{
    private const int PipelineCredentials = 90;
    private const int ClusterCredentials = 10;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task An_idle_operator_with_100_credentials_only_renews_its_lease_and_keeps_its_watches()
    {
        var audit = controlPlane.AuditLog;
        Skip.If(audit is null, $"{ControlPlaneFixture.ExistingClusterVariable} is set: the audit log of an existing cluster is not readable");

        await using var ns = await controlPlane.CreateNamespaceAsync("idle");
        var kit = new ClusterTestKit(controlPlane, ns.Name);
        await using var host = await OperatorHost.StartAsync(controlPlane.OperatorKubeconfig, ns.Name,
            "--leader-elect=true", $"--PASSBOX_LEADER_ELECTION_NAMESPACE={ns.Name}", "--Logging:LogLevel:Default=Information");

        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = "idle-test-token" });
        for (var i = 0; i < PipelineCredentials; i++)
        {
            await kit.CreateAsync(ClusterTestKit.TokenCredential(Name("token", i)));
        }

        var account = await mariaDb.CreateUserAsync($"idle_{Guid.NewGuid():N}"[..13]);
        await kit.CreateSecretAsync("db-input", new Dictionary<string, string> { ["password"] = account.Password });
        for (var i = 0; i < ClusterCredentials; i++)
        {
            await kit.CreateAsync(new ClusterCredential
            {
                Metadata = new() { Name = Name("db", i) },
                Spec = new ClusterCredentialSpec
                {
                    Engine = ClusterEngine.MySQL,
                    Endpoint = new DatabaseEndpoint { Host = mariaDb.Host, Port = mariaDb.Port, Tls = new TlsSettings { Mode = TlsMode.Disabled } },
                    Username = account.LoginName,
                    PasswordSecretRef = new SecretKeyReference { Name = "db-input", Key = "password" },
                },
            });
        }

        var wait = TimeSpan.FromMinutes(3);
        for (var i = 0; i < PipelineCredentials; i++)
        {
            await kit.WaitForConditionAsync<PipelineCredential>(Name("token", i), ConditionTypes.Ready, "True", timeout: wait);
        }

        for (var i = 0; i < ClusterCredentials; i++)
        {
            await kit.WaitForConditionAsync<ClusterCredential>(Name("db", i), ConditionTypes.Ready, "True", timeout: wait);
        }

        // Let the last status writes and events of the start settle.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var mark = audit.Mark();
        var clock = Stopwatch.StartNew();
        await Task.Delay(Window);
        var entries = audit.Since(mark, OperatorRbacTests.OperatorUser);
        var perMinute = entries.Count / clock.Elapsed.TotalMinutes;

        var breakdown = entries
            .GroupBy(e => $"{e.Verb} {(e.ApiGroup.Length == 0 ? "core" : e.ApiGroup)}/{e.Resource}{(e.Subresource is { Length: > 0 } s ? "/" + s : "")}")
            .OrderByDescending(g => g.Count())
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Count(),4}  {g.Key}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"idle operator, {PipelineCredentials + ClusterCredentials} credentials: {entries.Count} requests in {clock.Elapsed.TotalSeconds:F0} s = {perMinute:F1}/min"));
        output.WriteLine(string.Join('\n', breakdown));

        entries.Where(ControlPlaneAuditLog.IsWrite).Where(e => e.Resource != "leases").Should()
            .BeEmpty("an idle operator writes nothing but its lease (re-validations are due only after 10m)");
        perMinute.Should().BeLessThan(120, "idle cost must not grow with the number of credentials");
    }

    private static string Name(string prefix, int i) => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i:D3}");
}
