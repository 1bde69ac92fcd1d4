using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using static Passbox.Operator.Tests.Pipeline.KubeconfigSamples;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class KubeconfigReaderTests
{
    [Fact]
    public void Current_context_with_token_resolves_server_user_and_token()
    {
        var result = KubeconfigReader.Read(Valid, null);

        result.Failure.Should().BeNull();
        var target = result.Target!;
        target.Server.Should().Be(new Uri("https://127.0.0.1:6443"));
        target.ContextName.Should().Be("ci");
        target.ClusterName.Should().Be("prod");
        target.UserName.Should().Be("deployer");
        target.BearerToken.Should().Be(Secret);
        target.InsecureSkipTlsVerify.Should().BeFalse();
        target.CertificateAuthorities.Should().BeNull();
        target.ToString().Should().NotContain(Secret).And.Contain("bearer token");
    }

    [Fact]
    public void Named_context_overrides_current_context()
    {
        var target = KubeconfigReader.Read(Valid, "other").Target!;

        target.Server.Port.Should().Be(7443);
        target.BasicUsername.Should().Be("root");
        target.BasicPassword.Should().Be(Secret);
        target.ToString().Should().NotContain(Secret);
    }

    [Fact]
    public void Empty_kubeconfig_is_invalid()
    {
        ShouldFail(KubeconfigReader.Read("  \n", null), ValidationReasons.InvalidKubeconfig, "empty");
    }

    [Fact]
    public void Unparsable_yaml_names_the_position_but_not_the_content()
    {
        var yaml = $"users:\n- name: a\n  user: {{token: \"{Secret}\n";

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "not valid YAML");

        failure.Message.Should().MatchRegex("line [0-9]+, column [0-9]+");
    }

    /// <summary>
    /// YamlDotNet's scanner throws InvalidOperationException, not YamlException, for some broken YAML. It escaped the check
    /// and ended as Unreachable ("failed unexpectedly"), retried with back-off, instead of saying the kubeconfig is broken.
    /// </summary>
    [Theory]
    [InlineData("kind: Config", "kind: [Config")]
    [InlineData("current-context: ci", "current-context: [ci")]
    public void Yaml_the_scanner_gives_up_on_is_invalid_YAML_not_an_exception(string find, string replace)
    {
        var yaml = Valid.Replace(find, replace, StringComparison.Ordinal);
        yaml.Should().NotBe(Valid);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "the kubeconfig is not valid YAML");

        failure.Message.Should().NotContain(Secret);
    }

    [Fact]
    public void Yaml_that_is_not_a_mapping_is_invalid()
    {
        ShouldFail(KubeconfigReader.Read($"- {Secret}\n- b\n", null), ValidationReasons.InvalidKubeconfig, "not a YAML mapping");
    }

    [Theory]
    [InlineData("clusters: 5\n")]
    [InlineData("contexts: [1, 2]\ncurrent-context: a\n")]
    [InlineData("users: {a: b}\n")]
    [InlineData("current-context: [x]\n")]
    [InlineData("clusters:\n- name: a\n  cluster: [server]\n")]
    [InlineData("contexts:\n- name: a\n  context: text\ncurrent-context: a\n")]
    [InlineData("a: &x [*x]\n")]
    [InlineData("just text\n")]
    public void Misshapen_kubeconfigs_are_invalid_not_exceptions(string yaml)
    {
        var result = KubeconfigReader.Read(yaml, null);

        result.Target.Should().BeNull();
        result.Failure!.Reason.Should().Be(ValidationReasons.InvalidKubeconfig);
    }

    [Fact]
    public void Unknown_context_is_named_with_the_available_ones()
    {
        var failure = ShouldFail(KubeconfigReader.Read(Valid, "prod-eu"), ValidationReasons.InvalidKubeconfig, "context \"prod-eu\"");

        failure.Message.Should().Contain("available contexts: \"ci\", \"other\"");
    }

    [Fact]
    public void A_kubeconfig_with_thousands_of_contexts_names_the_first_twenty_and_counts_the_rest()
    {
        var contexts = string.Concat(Enumerable.Range(0, 5000).Select(i => $"- name: ctx-{i:D4}\n  context: {{cluster: prod, user: deployer}}\n"));
        var yaml = Valid.Replace("contexts:\n", "contexts:\n" + contexts, StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, "prod-eu"), ValidationReasons.InvalidKubeconfig, "context \"prod-eu\"");

        failure.Message.Should().Contain("available contexts: \"ctx-0000\", \"ctx-0001\"").And.Contain("\"ctx-0019\" and 4982 more")
            .And.NotContain("ctx-0020");
        failure.Message.Length.Should().BeLessThan(1024);
    }

    [Fact]
    public void Unknown_current_context_is_named_as_current_context()
    {
        var yaml = Valid.Replace("current-context: ci", "current-context: gone", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "current-context \"gone\" is not in the kubeconfig");
    }

    [Fact]
    public void Missing_current_context_without_a_requested_one_lists_the_contexts()
    {
        var yaml = Valid.Replace("current-context: ci\n", string.Empty, StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "no current-context");
        failure.Message.Should().Contain("\"ci\"");
    }

    [Fact]
    public void Missing_cluster_is_named_with_the_context()
    {
        var yaml = Valid.Replace("cluster: prod\n", "cluster: nowhere\n", StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "cluster \"nowhere\" of context \"ci\"");
        failure.Message.Should().Contain("available clusters: \"prod\", \"staging\"");
    }

    [Fact]
    public void Missing_user_is_named_with_the_context()
    {
        var yaml = Valid.Replace("user: deployer\n", "user: ghost\n", StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "user \"ghost\" of context \"ci\"");
        failure.Message.Should().Contain("available users: \"deployer\", \"root\"");
    }

    [Fact]
    public void Cluster_without_server_is_invalid()
    {
        var yaml = Valid.Replace("    server: https://127.0.0.1:6443\n", "    tls-server-name: example\n", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "cluster \"prod\" has no server");
    }

    [Fact]
    public void Server_that_is_not_an_http_url_is_invalid()
    {
        var yaml = Valid.Replace("https://127.0.0.1:6443", "ftp://example", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "not an http(s) URL");
    }

    [Fact]
    public void Exec_plugin_user_is_refused_as_unsupported_without_naming_the_command()
    {
        var yaml = Valid.Replace($"    token: {Secret}\n", """
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: secret-helper-binary
                  args: [get-token]

            """, StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.Unsupported, "exec plugin");

        failure.Message.Should().Contain("never runs commands").And.NotContain("secret-helper-binary");
    }

    [Fact]
    public void Exec_plugin_is_refused_even_next_to_a_token()
    {
        var yaml = Valid.Replace($"    token: {Secret}\n", $"    token: {Secret}\n    exec: {{command: sh}}\n", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.Unsupported, "exec plugin");
    }

    [Fact]
    public void Auth_provider_user_is_refused_as_unsupported()
    {
        var yaml = Valid.Replace($"    token: {Secret}\n", """
                auth-provider:
                  name: gcp
                  config: {cmd-path: /usr/bin/gcloud}

            """, StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.Unsupported, "auth-provider");
        failure.Message.Should().NotContain("gcloud");
    }

    [Theory]
    [InlineData("    certificate-authority: /etc/kubernetes/ca.crt\n", "cluster", "certificate-authority", "certificate-authority-data")]
    [InlineData("    client-certificate: /home/me/.kube/me.crt\n", "user", "client-certificate", "client-certificate-data")]
    [InlineData("    client-key: /home/me/.kube/me.key\n", "user", "client-key", "client-key-data")]
    [InlineData("    tokenFile: /var/run/secrets/token\n", "user", "tokenFile", "token")]
    public void File_paths_are_refused_and_never_read(string line, string owner, string field, string embedded)
    {
        var yaml = owner == "cluster"
            ? Valid.Replace("    server: https://127.0.0.1:6443\n", "    server: https://127.0.0.1:6443\n" + line, StringComparison.Ordinal)
            : Valid.Replace($"    token: {Secret}\n", $"    token: {Secret}\n" + line, StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, $"names a file in {field}");

        failure.Message.Should().Contain($"embed the content as {embedded}").And.NotContain("/");
    }

    [Fact]
    public void Certificate_authority_data_that_is_not_base64_pem_is_invalid()
    {
        var yaml = Valid.Replace("    server: https://127.0.0.1:6443\n",
            $"    server: https://127.0.0.1:6443\n    certificate-authority-data: {Base64("not a certificate")}\n", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "certificate-authority-data of cluster \"prod\"");
    }

    [Fact]
    public void Certificate_authority_data_is_read_into_trusted_roots()
    {
        var (certificate, _) = SelfSigned("CN=cluster-ca");
        var yaml = Valid.Replace("    server: https://127.0.0.1:6443\n",
            $"    server: https://127.0.0.1:6443\n    certificate-authority-data: {Base64(certificate)}\n", StringComparison.Ordinal);

        var target = KubeconfigReader.Read(yaml, null).Target!;

        target.CertificateAuthorities.Should().ContainSingle().Which.Subject.Should().Be("CN=cluster-ca");
    }

    [Fact]
    public void Certificate_authority_data_together_with_insecure_skip_is_invalid()
    {
        var (certificate, _) = SelfSigned();
        var yaml = Valid.Replace("    server: https://127.0.0.1:6443\n",
            $"    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true\n    certificate-authority-data: {Base64(certificate)}\n",
            StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "keep one");
    }

    [Fact]
    public void Insecure_skip_tls_verify_is_taken_only_when_set()
    {
        var yaml = Valid.Replace("    server: https://127.0.0.1:6443\n",
            "    server: https://127.0.0.1:6443\n    insecure-skip-tls-verify: true\n", StringComparison.Ordinal);

        KubeconfigReader.Read(yaml, null).Target!.InsecureSkipTlsVerify.Should().BeTrue();
    }

    [Fact]
    public void Client_certificate_data_with_key_is_loaded()
    {
        var (certificate, key) = SelfSigned("CN=deployer");
        var yaml = Valid.Replace($"    token: {Secret}\n",
            $"    client-certificate-data: {Base64(certificate)}\n    client-key-data: {Base64(key)}\n", StringComparison.Ordinal);

        var target = KubeconfigReader.Read(yaml, null).Target!;

        target.ClientCertificate!.HasPrivateKey.Should().BeTrue();
        target.AuthenticationKind.Should().Be("client certificate");
        target.ToString().Should().NotContain(Base64(key));
    }

    [Fact]
    public void Client_certificate_without_key_is_invalid()
    {
        var (certificate, _) = SelfSigned();
        var yaml = Valid.Replace($"    token: {Secret}\n", $"    client-certificate-data: {Base64(certificate)}\n", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "client-certificate-data without client-key-data");
    }

    [Fact]
    public void Client_key_that_does_not_match_is_invalid_without_echoing_it()
    {
        var (certificate, _) = SelfSigned();
        var (_, otherKey) = SelfSigned();
        var yaml = Valid.Replace($"    token: {Secret}\n",
            $"    client-certificate-data: {Base64(certificate)}\n    client-key-data: {Base64(otherKey)}\n", StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "not a base64-encoded PEM certificate and its key");
        failure.Message.Should().NotContain(Base64(otherKey)[..20]);
    }

    [Fact]
    public void User_without_credentials_is_invalid()
    {
        var yaml = Valid.Replace($"    token: {Secret}\n", "    as: someone\n", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "user \"deployer\" has no credentials");
    }

    [Fact]
    public void Server_with_user_info_is_refused()
    {
        var yaml = Valid.Replace("https://127.0.0.1:6443", $"https://admin:{Secret}@127.0.0.1:6443", StringComparison.Ordinal);

        ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "user info");
    }

    [Theory]
    [InlineData("\\n")]
    [InlineData("\\r\\n")]
    [InlineData("\\0")]
    [InlineData("\\t")]
    [InlineData("\\x7f")]
    [InlineData("\u00e9")]
    public void A_token_that_cannot_be_an_http_header_is_refused_naming_the_user_not_the_token(string inside)
    {
        // Double-quoted YAML: the escape becomes the character itself inside the token.
        var yaml = Valid.Replace($"    token: {Secret}\n", $"    token: \"{Secret}{inside}{Secret}\"\n", StringComparison.Ordinal);

        var failure = ShouldFail(KubeconfigReader.Read(yaml, null), ValidationReasons.InvalidKubeconfig, "the token of user \"deployer\"");

        failure.Message.Should().Contain("one line of ASCII");
    }

    [Fact]
    public void A_token_with_a_trailing_line_break_is_trimmed_not_refused()
    {
        var yaml = Valid.Replace($"    token: {Secret}\n", $"    token: \"{Secret}\\n\"\n", StringComparison.Ordinal);

        KubeconfigReader.Read(yaml, null).Target!.BearerToken.Should().Be(Secret);
    }

    [Fact]
    public void Impersonation_is_carried_over()
    {
        var yaml = Valid.Replace($"    token: {Secret}\n", $"    token: {Secret}\n    as: alice\n    as-groups: [ops, dev]\n", StringComparison.Ordinal);

        var target = KubeconfigReader.Read(yaml, null).Target!;

        target.Impersonate.Should().Be("alice");
        target.ImpersonateGroups.Should().Equal("ops", "dev");
    }

    [Theory]
    [InlineData("http://proxy.corp.example:3128", "http://proxy.corp.example:3128/")]
    [InlineData("https://proxy.corp.example", "https://proxy.corp.example/")]
    [InlineData("socks5://bastion.example:1080", "socks5://bastion.example:1080/")]
    [InlineData("socks5://bastion.example", "socks5://bastion.example:1080/")]
    public void Proxy_url_of_the_cluster_is_what_the_probe_goes_through(string proxyUrl, string expected)
    {
        var target = KubeconfigReader.Read(WithProxy(proxyUrl), null).Target!;

        target.Proxy.Should().Be(new Uri(expected));
        target.ProxyCredentials.Should().BeNull();
        target.ToString().Should().Contain($"Proxy = {expected.TrimEnd('/')}");
    }

    [Fact]
    public void Proxy_url_of_another_cluster_is_not_used()
    {
        var target = KubeconfigReader.Read(WithProxy("http://proxy.corp.example:3128"), "other").Target!;

        target.Proxy.Should().BeNull();
        target.ToString().Should().Contain("Proxy = none");
    }

    [Fact]
    public void Proxy_credentials_are_taken_apart_from_the_proxy_url_and_shown_nowhere()
    {
        var target = KubeconfigReader.Read(WithProxy($"http://squid%40corp:{Secret}@proxy.corp.example:3128"), null).Target!;

        target.Proxy.Should().Be(new Uri("http://proxy.corp.example:3128/"));
        target.ProxyCredentials!.UserName.Should().Be("squid@corp");
        target.ProxyCredentials.Password.Should().Be(Secret);
        target.ToString().Should().NotContain(Secret).And.NotContain("squid");
    }

    [Theory]
    [InlineData("proxy.corp.example:3128")]
    [InlineData("ftp://proxy.corp.example")]
    [InlineData("socks4://proxy.corp.example:1080")]
    [InlineData($"gopher://user:{Secret}@proxy.corp.example")]
    public void Proxy_url_that_is_not_a_proxy_url_is_invalid_naming_the_field_not_the_text(string proxyUrl)
    {
        var failure = ShouldFail(KubeconfigReader.Read(WithProxy(proxyUrl), null), ValidationReasons.InvalidKubeconfig,
            "proxy-url of cluster \"prod\" is not a proxy URL: give http://, https:// or socks5://");

        failure.Message.Should().NotContain("proxy.corp.example");
    }

    private static string WithProxy(string proxyUrl) =>
        Valid.Replace("    server: https://127.0.0.1:6443\n", $"    server: https://127.0.0.1:6443\n    proxy-url: \"{proxyUrl}\"\n", StringComparison.Ordinal);

    private static ValidationOutcome ShouldFail(KubeconfigReadResult result, string reason, string messagePart)
    {
        result.Target.Should().BeNull();
        var failure = result.Failure!;
        failure.Succeeded.Should().BeFalse();
        failure.Reason.Should().Be(reason);
        failure.Message.Should().Contain(messagePart).And.NotContain(Secret);
        return failure;
    }
}
