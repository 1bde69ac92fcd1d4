using Passbox.IntegrationTests.Doubles.Milvus;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// ClusterCredential for Milvus and Zilliz Cloud, with the real operator against the Milvus protocol double (no Milvus
/// server can run here; the double authenticates the way Milvus does, from the wire facts).
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class ClusterCredentialMilvusTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private const string UserPassword = "Search-Pa55word!";
    private const string ApiKey = "zk-0123456789abcdef0123456789abcdef";

    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;
    private MilvusDouble milvus = null!;

    public async Task InitializeAsync()
    {
        milvus = await MilvusDouble.StartAsync();
        milvus.State.AddUser("search_svc", UserPassword);
        milvus.State.AddDatabase("search");
        milvus.State.AddApiKey(ApiKey, "db_admin");
        run = await OperatorRun.StartAsync(controlPlane, "milvus");
        kit = run.Kit;
        run.MarkSecret(UserPassword, ApiKey, "wrong-Pa55word!");
    }

    public async Task DisposeAsync()
    {
        try
        {
            await run.DisposeAsync();
        }
        finally
        {
            await milvus.DisposeAsync();
        }
    }

    private ClusterCredential Credential(string name, Action<ClusterCredentialSpec> auth)
    {
        var credential = new ClusterCredential
        {
            Metadata = new() { Name = name },
            Spec = new ClusterCredentialSpec
            {
                Engine = ClusterEngine.Milvus,
                Endpoint = new DatabaseEndpoint { Host = milvus.Host, Port = milvus.Port, Tls = new TlsSettings { Mode = TlsMode.Disabled } },
                Milvus = new MilvusSettings { Database = "search" },
                Validation = new ValidationSettings { Interval = "1h", Timeout = "3s" },
            },
        };
        auth(credential.Spec);
        return credential;
    }

    private static void Password(ClusterCredentialSpec spec)
    {
        spec.Username = "search_svc";
        spec.PasswordSecretRef = new SecretKeyReference { Name = "milvus-input", Key = "password" };
    }

    [Fact]
    public async Task A_good_Milvus_login_publishes_user_password_token_database_and_uri()
    {
        await kit.CreateSecretAsync("milvus-input", new Dictionary<string, string> { ["password"] = UserPassword });

        await kit.CreateAsync(Credential("search", Password));

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("search", ConditionTypes.Ready, "True");
        ready.Status!.ServerVersion.Should().NotBeNullOrEmpty();
        ClusterTestKit.Decode(await kit.WaitForSecretAsync("search")).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["engine"] = "Milvus",
            ["host"] = milvus.Host,
            ["port"] = milvus.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["username"] = "search_svc",
            ["password"] = UserPassword,
            ["database"] = "search",
            ["token"] = "search_svc:" + UserPassword,
            ["uri"] = $"http://{milvus.Host}:{milvus.Port}",
        });
        milvus.State.LoginAttempts("search_svc").Should().Be(1);
    }

    [Fact]
    public async Task A_Zilliz_API_key_publishes_the_key_as_token()
    {
        await kit.CreateSecretAsync("zilliz-input", new Dictionary<string, string> { ["apiKey"] = ApiKey });

        await kit.CreateAsync(Credential("recs", spec => spec.ApiKeySecretRef = new SecretKeyReference { Name = "zilliz-input", Key = "apiKey" }));

        var ready = await kit.WaitForConditionAsync<ClusterCredential>("recs", ConditionTypes.Ready, "True");
        ready.Status!.Login.Should().Be("(API key)");
        var data = ClusterTestKit.Decode(await kit.WaitForSecretAsync("recs"));
        data["token"].Should().Be(ApiKey);
        data.Should().NotContainKeys("username", "password");
    }

    [Fact]
    public async Task A_wrong_password_is_AuthenticationFailed_and_an_unknown_database_is_DatabaseNotFound()
    {
        await kit.CreateSecretAsync("milvus-input", new Dictionary<string, string> { ["password"] = "wrong-Pa55word!" });
        await kit.CreateAsync(Credential("wrong", Password));
        await kit.WaitForConditionAsync<ClusterCredential>("wrong", ConditionTypes.Ready, "False", "AuthenticationFailed");

        await kit.CreateSecretAsync("good-input", new Dictionary<string, string> { ["password"] = UserPassword });
        await kit.CreateAsync(Credential("nodb", spec =>
        {
            spec.Username = "search_svc";
            spec.PasswordSecretRef = new SecretKeyReference { Name = "good-input", Key = "password" };
            spec.Milvus = new MilvusSettings { Database = "missing_db" };
        }));
        await kit.WaitForConditionAsync<ClusterCredential>("nodb", ConditionTypes.Ready, "False", "DatabaseNotFound");

        (await kit.TryGetSecretAsync("wrong")).Should().BeNull();
        (await kit.TryGetSecretAsync("nodb")).Should().BeNull();
    }

    [Fact]
    public async Task A_server_that_is_down_is_Unreachable_and_the_credential_recovers_by_itself_when_it_returns()
    {
        await milvus.StopAsync();
        await kit.CreateSecretAsync("milvus-input", new Dictionary<string, string> { ["password"] = UserPassword });

        await kit.CreateAsync(Credential("flaky", Password));
        await kit.WaitForConditionAsync<ClusterCredential>("flaky", ConditionTypes.Ready, "False", "Unreachable");
        (await kit.TryGetSecretAsync("flaky")).Should().BeNull();

        await milvus.RestartAsync();

        // Backoff starts at 2 s and doubles; nothing but the retry timer brings it back.
        await kit.WaitForConditionAsync<ClusterCredential>("flaky", ConditionTypes.Ready, "True", timeout: TimeSpan.FromSeconds(60));
        await kit.WaitForSecretAsync("flaky");
    }
}
