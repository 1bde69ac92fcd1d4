using k8s;
using k8s.KubeConfigModels;
using Passbox.Operator.Runtime.Api;
using YamlDotNet.Core;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// The reflection-free kubeconfig reader (needed by the native AOT build) must read kubeconfigs exactly as
/// KubernetesClient's own reader does for every field a connection uses.
/// </summary>
public sealed class KubeconfigsTests
{
    private const string Everything = """
        apiVersion: v1
        kind: Config
        current-context: ci
        preferences: {colors: true}
        clusters:
        - name: prod
          cluster:
            server: https://10.0.0.1:6443
            certificate-authority-data: Q0EtREFUQQ==
            tls-server-name: api.internal
            insecure-skip-tls-verify: false
            extensions:
            - name: client.authentication.k8s.io/exec
              extension: {audience: x}
        - name: dev
          cluster:
            server: https://10.0.0.2:6443
            certificate-authority: ca.crt
            insecure-skip-tls-verify: true
        users:
        - name: deployer
          user:
            token: t0ken
            as: someone
            as-groups: [a, b]
            as-user-extra: {scope: read}
        - name: cert
          user:
            client-certificate-data: Q0VSVA==
            client-key-data: S0VZ
            client-certificate: me.crt
            client-key: me.key
            username: root
            password: pw
        - name: plugin
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: get-token
              args: [--cluster, prod]
              env:
              - {name: REGION, value: eu}
              installHint: install get-token
              provideClusterInfo: true
        - name: oidc
          user:
            auth-provider:
              name: oidc
              config: {idp-issuer-url: "https://issuer", client-id: passbox}
        contexts:
        - name: ci
          context: {cluster: prod, user: deployer, namespace: apps}
        - name: other
          context:
            cluster: dev
            user: cert
        """;

    /// <summary>proxy-url, which KubernetesClient's model lacks, follows the rule of every other field: the first entry of a name.</summary>
    [Fact]
    public void A_clusters_proxy_url_is_read_from_the_first_entry_of_its_name_only()
    {
        var document = Kubeconfigs.Read("""
            clusters:
            - name: prod
              cluster: {server: "https://prod:6443"}
            - name: prod
              cluster: {server: "https://other:6443", proxy-url: "socks5://bastion:1080"}
            - name: edge
              cluster: {server: "https://edge:6443", proxy-url: "http://proxy:3128"}
            """)!;

        document.Config.Clusters.First(c => c.Name == "prod").ClusterEndpoint.Server.Should().Be("https://prod:6443");
        document.ProxyUrl("prod").Should().BeNull("the second prod entry is ignored, with its proxy");
        document.ProxyUrl("edge").Should().Be("http://proxy:3128");
        document.ProxyUrl("missing").Should().BeNull();
    }

    [Fact]
    public void Reads_every_connection_field_as_KubernetesClient_does()
    {
        var ours = Kubeconfigs.Parse(Everything);
        var theirs = KubernetesYaml.Deserialize<K8SConfiguration>(Everything);

        ours.Should().BeEquivalentTo(theirs, o => o
            .Excluding(c => c.Preferences)
            .Excluding(c => c.Extensions)
            .Excluding(m => m.Path.EndsWith("Extensions", StringComparison.Ordinal)));
        ours!.Users.Single(u => u.Name == "plugin").UserCredentials.ExternalExecution.EnvironmentVariables
            .Should().ContainSingle().Which.Should().Contain("name", "REGION").And.Contain("value", "eu");
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing\n")]
    [InlineData("~\n")]
    public void An_empty_document_is_null(string yaml) => Kubeconfigs.Parse(yaml).Should().BeNull();

    [Theory]
    [InlineData("just text\n")]
    [InlineData("clusters: 5\n")]
    [InlineData("clusters:\n- name: a\n  cluster: [server]\n")]
    [InlineData("users:\n- name: a\n  user: {as-groups: {x: y}}\n")]
    [InlineData("clusters:\n- name: a\n  cluster: {insecure-skip-tls-verify: maybe}\n")]
    [InlineData("a: [b\n")]
    public void A_misshapen_kubeconfig_is_a_yaml_exception_with_its_position(string yaml)
    {
        var parse = () => Kubeconfigs.Parse(yaml);

        parse.Should().Throw<YamlException>().Which.Start.Line.Should().BePositive();
    }

    [Fact]
    public void A_kubeconfig_file_becomes_the_client_configuration_of_its_current_context()
    {
        var file = Path.Combine(Path.GetTempPath(), $"passbox-kubeconfig-{Guid.NewGuid():N}");
        File.WriteAllText(file, """
            apiVersion: v1
            kind: Config
            current-context: ci
            clusters:
            - name: prod
              cluster: {server: "https://10.0.0.1:6443", insecure-skip-tls-verify: true}
            users:
            - name: deployer
              user: {token: t0ken}
            contexts:
            - name: ci
              context: {cluster: prod, user: deployer, namespace: apps}
            """);
        try
        {
            var config = Kubeconfigs.ClientConfiguration(file);

            config.Host.Should().Be("https://10.0.0.1:6443");
            config.AccessToken.Should().Be("t0ken");
            config.Namespace.Should().Be("apps");
            config.SkipTlsVerify.Should().BeTrue();
            config.CurrentContext.Should().Be("ci");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Several_kubeconfig_files_merge_as_kubectl_merges_them()
    {
        var directory = Directory.CreateTempSubdirectory("passbox-kubeconfigs-");
        try
        {
            var first = new FileInfo(Path.Combine(directory.FullName, "a", "config"));
            var second = new FileInfo(Path.Combine(directory.FullName, "b", "config"));
            var merged = Kubeconfigs.Merge(
            [
                (first, Kubeconfigs.Parse("""
                    current-context: ci
                    clusters: [{name: prod, cluster: {server: "https://first:6443", certificate-authority: ca.crt}}]
                    contexts: [{name: ci, context: {cluster: prod, user: deployer}}]
                    """)),
                (new FileInfo(Path.Combine(directory.FullName, "empty")), null),
                (second, Kubeconfigs.Parse("""
                    current-context: other
                    clusters: [{name: prod, cluster: {server: "https://second:6443"}}, {name: dev, cluster: {server: "https://dev:6443"}}]
                    users: [{name: deployer, user: {client-certificate: certs/me.crt, client-key: /abs/me.key}}]
                    contexts: [{name: other, context: {cluster: dev, user: deployer}}]
                    """)),
            ])!;

            merged.CurrentContext.Should().Be("ci", "the first file that sets current-context wins");
            merged.Clusters.Select(c => c.ClusterEndpoint.Server).Should().Equal("https://first:6443", "https://dev:6443");
            merged.Clusters.First().ClusterEndpoint.CertificateAuthority.Should().Be(Path.Combine(first.DirectoryName!, "ca.crt"));
            var user = merged.Users.Single().UserCredentials;
            user.ClientCertificate.Should().Be(Path.Combine(second.DirectoryName!, "certs", "me.crt"), "a relative path is relative to the file naming it");
            user.ClientKey.Should().Be("/abs/me.key");
            merged.Contexts.Select(c => c.Name).Should().Equal("ci", "other");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
