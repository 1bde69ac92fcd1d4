using System.Text;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.ClusterCredentials;

namespace Passbox.Operator.Tests.Controllers;

public sealed class ClusterSecretBuilderTests
{
    private static ClusterCredential Credential(ClusterEngine engine, Action<ClusterCredentialSpec>? change = null)
    {
        var credential = new ClusterCredential
        {
            Metadata = new() { Name = "orders-ob", NamespaceProperty = "team-a", Uid = "u1" },
            Spec = new ClusterCredentialSpec
            {
                Engine = engine,
                Endpoint = new DatabaseEndpoint { Host = "obproxy.oceanbase.svc" },
                Username = "app_rw",
                PasswordSecretRef = new SecretKeyReference { Name = "input", Key = "password" },
            },
        };
        change?.Invoke(credential.Spec);
        return credential;
    }

    private static Dictionary<string, string> Data(ClusterCredential credential, string? password = "p@ss:w/rd#1", string? apiKey = null)
    {
        var payload = ClusterSecretBuilder.Build(credential, EffectiveClusterSpec.From(credential), password, apiKey);
        return payload.Data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value));
    }

    [Fact]
    public void OceanBase_through_OBProxy_gets_the_full_login_form_and_an_escaped_uri()
    {
        var credential = Credential(ClusterEngine.OceanBase, s => s.OceanBase = new OceanBaseSettings { Tenant = "orders", Cluster = "obcluster" });

        Data(credential).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["engine"] = "OceanBase",
            ["host"] = "obproxy.oceanbase.svc",
            ["port"] = "2883",
            ["username"] = "app_rw@orders#obcluster",
            ["password"] = "p@ss:w/rd#1",
            ["tenant"] = "orders",
            ["cluster"] = "obcluster",
            ["uri"] = "mysql://app_rw%40orders%23obcluster:p%40ss%3Aw%2Frd%231@obproxy.oceanbase.svc:2883",
        });
    }

    [Fact]
    public void OceanBase_direct_logs_in_as_user_at_tenant_without_a_cluster_key()
    {
        var credential = Credential(ClusterEngine.OceanBase, s =>
        {
            s.OceanBase = new OceanBaseSettings { Tenant = "orders" };
            s.Endpoint.Port = 2881;
        });

        var data = Data(credential);

        data["username"].Should().Be("app_rw@orders");
        data.Should().NotContainKey("cluster");
        data["port"].Should().Be("2881");
    }

    [Fact]
    public void MySQL_defaults_to_port_3306()
    {
        var data = Data(Credential(ClusterEngine.MySQL));

        data.Keys.Should().BeEquivalentTo("engine", "host", "port", "username", "password", "uri");
        data["port"].Should().Be("3306");
        data["username"].Should().Be("app_rw");
    }

    [Fact]
    public void Milvus_with_a_password_gets_a_user_password_token_database_and_http_uri()
    {
        var credential = Credential(ClusterEngine.Milvus, s =>
        {
            s.Milvus = new MilvusSettings { Database = "search" };
            s.Endpoint.Tls = new TlsSettings { Mode = TlsMode.Disabled };
        });

        var data = Data(credential, password: "Secr3t!");

        data["token"].Should().Be("app_rw:Secr3t!");
        data["database"].Should().Be("search");
        data["uri"].Should().Be("http://obproxy.oceanbase.svc:19530");
    }

    [Fact]
    public void Zilliz_with_an_api_key_publishes_the_key_as_token_and_no_username()
    {
        var credential = Credential(ClusterEngine.Milvus, s =>
        {
            s.Username = null;
            s.PasswordSecretRef = null;
            s.ApiKeySecretRef = new SecretKeyReference { Name = "key", Key = "apiKey" };
            s.Endpoint.Port = 443;
        });

        var data = Data(credential, password: null, apiKey: "zk-123");

        data.Should().NotContainKeys("username", "password");
        data["token"].Should().Be("zk-123");
        data["database"].Should().Be("default");
        data["uri"].Should().Be("https://obproxy.oceanbase.svc:443");
    }

    [Fact]
    public void The_generated_secret_is_labelled_for_the_operator_watch_and_user_labels_cannot_override_that()
    {
        var credential = Credential(ClusterEngine.MySQL, s => s.Secret = new GeneratedSecretSettings
        {
            Name = "billing-conn",
            Labels = new() { ["team"] = "billing", ["app.kubernetes.io/managed-by"] = "someone-else" },
            Annotations = new() { ["note"] = "x" },
        });

        var payload = ClusterSecretBuilder.Build(credential, EffectiveClusterSpec.From(credential), "pw", null);

        payload.Name.Should().Be("billing-conn");
        payload.Type.Should().Be("Opaque");
        payload.Labels.Should().Contain("app.kubernetes.io/managed-by", "passbox")
            .And.Contain("passbox.dev/credential", "orders-ob")
            .And.Contain("team", "billing");
        payload.Annotations.Should().Contain("note", "x");
    }

    [Fact]
    public void A_payload_prints_its_keys_never_its_values()
    {
        var credential = Credential(ClusterEngine.MySQL);
        var payload = ClusterSecretBuilder.Build(credential, EffectiveClusterSpec.From(credential), "hunter2-very-secret", null);

        payload.ToString().Should().NotContain("hunter2-very-secret").And.Contain("password");
    }

    [Fact]
    public void Description_and_secret_shape_do_not_change_the_login_fingerprint_but_the_host_does()
    {
        var a = Credential(ClusterEngine.MySQL);
        var b = Credential(ClusterEngine.MySQL, s =>
        {
            s.Description = "changed";
            s.Secret = new GeneratedSecretSettings { Name = "other" };
        });
        var c = Credential(ClusterEngine.MySQL, s => s.Endpoint.Host = "elsewhere");

        EffectiveClusterSpec.From(a).LoginRelevantJson().Should().Be(EffectiveClusterSpec.From(b).LoginRelevantJson())
            .And.NotBe(EffectiveClusterSpec.From(c).LoginRelevantJson());
    }
}
