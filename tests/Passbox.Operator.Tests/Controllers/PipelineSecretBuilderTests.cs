using System.Text;
using System.Text.Json.Nodes;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Pipeline;

namespace Passbox.Operator.Tests.Controllers;

public sealed class PipelineSecretBuilderTests
{
    private static readonly PipelineSecretInputs UserPass = new("ci-bot", "s3cret/pw", null, null, null);
    private static readonly PipelineSecretInputs Token = new(null, null, "ghp_token123", null, null);

    private static PipelineCredential Credential(PipelineCredentialType type, string? server, SecretFormat? format, params SecretConsumer[] consumers) => new()
    {
        Metadata = new() { Name = "github-bot", NamespaceProperty = "ci", Uid = "u1" },
        Spec = new PipelineCredentialSpec
        {
            Type = type,
            Server = server,
            Description = "release bot",
            Secret = new PipelineSecretSettings { Format = format, Consumers = consumers.ToList() },
        },
    };

    private static Dictionary<string, string> Data(SecretPayload payload) =>
        payload.Data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value));

    [Fact]
    public void BasicAuth_for_Tekton_and_Jenkins_has_exactly_their_keys_labels_and_annotations()
    {
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, "https://github.com/example/app.git", SecretFormat.BasicAuth, SecretConsumer.Tekton, SecretConsumer.Jenkins),
            UserPass);

        payload.Type.Should().Be("kubernetes.io/basic-auth");
        Data(payload).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["username"] = "ci-bot",
            ["password"] = "s3cret/pw",
            [".git-credentials"] = "https://ci-bot:s3cret%2Fpw@github.com\n",
            [".gitconfig"] = "[credential \"https://github.com\"]\n\thelper = store\n",
        });
        payload.Annotations.Should().Contain("tekton.dev/git-0", "https://github.com")
            .And.Contain("jenkins.io/credentials-id", "github-bot")
            .And.Contain("jenkins.io/credentials-description", "release bot");
        payload.Labels.Should().Contain("jenkins.io/credentials-type", "usernamePassword")
            .And.Contain("jenkins.io/credentials-scope", "global")
            .And.Contain("app.kubernetes.io/managed-by", "passbox");
    }

    [Fact]
    public void Jenkins_id_scope_and_description_from_spec_secret_are_kept_over_the_defaults()
    {
        var credential = Credential(PipelineCredentialType.UsernamePassword, "https://github.com/example/app.git", SecretFormat.BasicAuth, SecretConsumer.Jenkins);
        credential.Spec.Secret!.Labels = new() { ["jenkins.io/credentials-scope"] = "system" };
        credential.Spec.Secret.Annotations = new()
        {
            ["jenkins.io/credentials-id"] = "legacy-github-id",
            ["jenkins.io/credentials-description"] = "as Jenkins shows it",
        };

        var payload = PipelineSecretBuilder.Build(credential, UserPass);

        payload.Labels.Should().Contain("jenkins.io/credentials-scope", "system")
            .And.Contain("jenkins.io/credentials-type", "usernamePassword");
        payload.Annotations.Should().Contain("jenkins.io/credentials-id", "legacy-github-id")
            .And.Contain("jenkins.io/credentials-description", "as Jenkins shows it");
    }

    [Fact]
    public void DockerConfigJson_holds_the_registry_auth_and_Tekton_gets_a_docker_annotation()
    {
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, "https://registry.example.com:5000", SecretFormat.DockerConfigJson, SecretConsumer.Tekton),
            UserPass);

        payload.Type.Should().Be("kubernetes.io/dockerconfigjson");
        Data(payload).Keys.Should().Equal(".dockerconfigjson");
        var auths = JsonNode.Parse(Data(payload)[".dockerconfigjson"])!["auths"]!["registry.example.com:5000"]!;
        auths["username"]!.GetValue<string>().Should().Be("ci-bot");
        auths["password"]!.GetValue<string>().Should().Be("s3cret/pw");
        Encoding.UTF8.GetString(Convert.FromBase64String(auths["auth"]!.GetValue<string>())).Should().Be("ci-bot:s3cret/pw");
        payload.Annotations.Should().Contain("tekton.dev/docker-0", "https://registry.example.com:5000");
    }

    /// <summary>
    /// docker, kaniko and crane look a registry up by the host exactly as the image reference writes it:
    /// registry.example.com:443/app under "registry.example.com:443", registry.example.com/app under "registry.example.com".
    /// A written port 443 was dropped, so a pipeline pushing to registry.example.com:443/app found no credentials. Both
    /// names are this registry, so both are keyed; Tekton gets an annotation for each (it keys its docker config by them).
    /// </summary>
    [Theory]
    [InlineData("https://registry.example.com:443")]
    [InlineData("registry.example.com:443")]
    [InlineData("https://registry.example.com:443/team")]
    public void A_written_default_port_stays_in_the_registry_keys_and_the_bare_host_is_keyed_too(string server)
    {
        var dockerConfig = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.DockerConfigJson, SecretConsumer.Tekton), UserPass);

        var auths = JsonNode.Parse(Data(dockerConfig)[".dockerconfigjson"])!["auths"]!.AsObject();
        auths.Select(p => p.Key).Should().Equal("registry.example.com:443", "registry.example.com");
        auths.Select(p => p.Value!["auth"]!.GetValue<string>()).Distinct().Should().ContainSingle();
        dockerConfig.Annotations.Should().Contain("tekton.dev/docker-0", (server.Contains("://", StringComparison.Ordinal) ? server : "https://" + server))
            .And.Contain("tekton.dev/docker-1", "https://registry.example.com");
    }

    [Theory]
    [InlineData("https://registry.example.com", "registry.example.com")]
    [InlineData("registry.example.com:5000", "registry.example.com:5000")]
    [InlineData("http://registry.example.com:80", "registry.example.com:80")]
    public void A_registry_without_a_written_default_port_has_one_key_as_written(string server, string key)
    {
        var dockerConfig = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.DockerConfigJson, SecretConsumer.Tekton), UserPass);

        JsonNode.Parse(Data(dockerConfig)[".dockerconfigjson"])!["auths"]!.AsObject().Select(p => p.Key).Should().Equal(key);
        dockerConfig.Annotations.Should().NotContainKey("tekton.dev/docker-1");
    }

    /// <summary>
    /// git's credential store compares host:port as a string: a clone of https://git.example.com:443/team/app.git never
    /// found the line https://user:pw@git.example.com that Passbox wrote after dropping the port, and asked for a password.
    /// </summary>
    [Theory]
    [InlineData("https://git.example.com:443/team/app.git", "https", "git.example.com:443", "git.example.com")]
    [InlineData("http://git.example.com:80/team/app.git", "http", "git.example.com:80", "git.example.com")]
    public void A_written_default_git_port_stays_and_the_portless_origin_gets_credentials_too(string server, string scheme, string written, string bare)
    {
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.BasicAuth, SecretConsumer.Tekton), UserPass);

        var data = Data(payload);
        data[".git-credentials"].Should().Be($"{scheme}://ci-bot:s3cret%2Fpw@{written}\n{scheme}://ci-bot:s3cret%2Fpw@{bare}\n");
        data[".gitconfig"].Should().Be($"[credential \"{scheme}://{written}\"]\n\thelper = store\n");
        payload.Annotations.Should().Contain("tekton.dev/git-0", $"{scheme}://{written}").And.Contain("tekton.dev/git-1", $"{scheme}://{bare}");
    }

    [Fact]
    public void A_git_server_with_another_port_keeps_it_and_gets_one_line()
    {
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, "https://git.example.com:8443/team/app.git", SecretFormat.BasicAuth, SecretConsumer.Tekton), UserPass);

        Data(payload)[".git-credentials"].Should().Be("https://ci-bot:s3cret%2Fpw@git.example.com:8443\n");
        payload.Annotations.Should().Contain("tekton.dev/git-0", "https://git.example.com:8443").And.NotContainKey("tekton.dev/git-1");
    }

    /// <summary>
    /// docker, kaniko and crane look Docker Hub up in a docker config under "https://index.docker.io/v1/" only: an entry
    /// "docker.io" was never found, and a pipeline's push to Docker Hub went out without credentials. Tekton writes the
    /// docker annotation's value as that key for a basic-auth Secret, so it must be the same.
    /// </summary>
    [Theory]
    [InlineData("docker.io")]
    [InlineData("https://docker.io")]
    [InlineData("index.docker.io")]
    [InlineData("https://index.docker.io/v1/")]
    [InlineData("registry-1.docker.io")]
    [InlineData("registry.hub.docker.com")]
    public void Docker_Hub_under_any_of_its_names_is_keyed_as_docker_and_kaniko_look_it_up(string server)
    {
        var dockerConfig = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.DockerConfigJson, SecretConsumer.Tekton), UserPass);
        var basicAuth = Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.BasicAuth, SecretConsumer.Tekton);
        basicAuth.Spec.Validation = new PipelineValidationSettings { Probe = PipelineProbe.ContainerRegistry };

        JsonNode.Parse(Data(dockerConfig)[".dockerconfigjson"])!["auths"]!.AsObject().Select(p => p.Key).Should().Equal("https://index.docker.io/v1/");
        dockerConfig.Annotations.Should().Contain("tekton.dev/docker-0", "https://index.docker.io/v1/");
        PipelineSecretBuilder.Build(basicAuth, UserPass).Annotations.Should().Contain("tekton.dev/docker-0", "https://index.docker.io/v1/");
    }

    [Fact]
    public void A_token_for_Argo_CD_becomes_repo_creds_with_url_type_and_token_as_password()
    {
        var credential = Credential(PipelineCredentialType.SecretText, "https://git.example.com/platform", null, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { Project = "platform" };

        var payload = PipelineSecretBuilder.Build(credential, Token);

        payload.Type.Should().Be("Opaque");
        payload.Labels.Should().Contain("argocd.argoproj.io/secret-type", "repo-creds");
        Data(payload).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["token"] = "ghp_token123",
            ["url"] = "https://git.example.com/platform",
            ["type"] = "git",
            ["username"] = "x-access-token",
            ["password"] = "ghp_token123",
            ["project"] = "platform",
        });
    }

    /// <summary>
    /// An Argo CD application's OCI source is oci://registry/path, and Argo CD finds credentials by URL (by prefix for
    /// repo-creds): an https:// url never matched, and the chart or image was pulled without credentials.
    /// </summary>
    [Theory]
    [InlineData("registry.example.com/charts", "oci://registry.example.com/charts")]
    [InlineData("https://registry.example.com:5000/team", "oci://registry.example.com:5000/team")]
    public void An_OCI_repository_for_Argo_CD_has_an_oci_url_as_its_applications_name_it(string server, string url)
    {
        var credential = Credential(PipelineCredentialType.UsernamePassword, server, null, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { RepositoryType = "oci" };

        var data = Data(PipelineSecretBuilder.Build(credential, UserPass));

        data.Should().Contain("url", url).And.Contain("type", "oci");
    }

    /// <summary>
    /// Helm charts in an OCI registry: Argo CD logs in with <c>helm registry login</c> only with <c>enableOCI</c>, and its
    /// Applications name such a repository without a scheme. An https:// url without enableOCI made Argo CD fetch
    /// index.yaml from the registry (404), so every chart pull failed; with no repository type, a registry got "git".
    /// </summary>
    [Theory]
    [InlineData("helm", SecretFormat.DockerConfigJson, null)]
    [InlineData(null, SecretFormat.DockerConfigJson, null)]
    [InlineData(null, null, PipelineProbe.ContainerRegistry)]
    [InlineData("helm", SecretFormat.BasicAuth, PipelineProbe.ContainerRegistry)]
    public void Helm_charts_in_a_registry_get_enableOCI_and_a_url_without_scheme_for_Argo_CD(string? repositoryType, SecretFormat? format, PipelineProbe? probe)
    {
        var credential = Credential(PipelineCredentialType.UsernamePassword, "https://registry.example.com:5000/charts", format, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { RepositoryType = repositoryType };
        credential.Spec.Validation = probe is null ? null : new PipelineValidationSettings { Probe = probe };

        var data = Data(PipelineSecretBuilder.Build(credential, UserPass));

        data.Should().Contain("url", "registry.example.com:5000/charts").And.Contain("type", "helm").And.Contain("enableOCI", "true");
    }

    /// <summary>
    /// Both OCI forms of the url drop the scheme, so for a registry written http:// Argo CD spoke TLS to a plain-HTTP
    /// server and every pull failed: its repository flag insecureOCIForceHttp says plain HTTP. An https:// registry, or
    /// one written without a scheme (https), and a Helm repository over HTTP (index.yaml, scheme kept) get no such flag.
    /// </summary>
    [Theory]
    [InlineData("oci", "http://registry.example.com:5000/charts", "oci://registry.example.com:5000/charts", true)]
    [InlineData("helm", "http://registry.example.com:5000/charts", "registry.example.com:5000/charts", true)]
    [InlineData("oci", "https://registry.example.com:5000/charts", "oci://registry.example.com:5000/charts", false)]
    [InlineData("helm", "registry.example.com:5000/charts", "registry.example.com:5000/charts", false)]
    public void A_registry_written_http_is_marked_plain_HTTP_for_Argo_CD(string repositoryType, string server, string url, bool plainHttp)
    {
        var credential = Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.DockerConfigJson, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { RepositoryType = repositoryType };

        var data = Data(PipelineSecretBuilder.Build(credential, UserPass));

        data.Should().Contain("url", url).And.Contain("type", repositoryType);
        if (plainHttp)
        {
            data.Should().Contain("insecureOCIForceHttp", "true");
        }
        else
        {
            data.Should().NotContainKey("insecureOCIForceHttp");
        }
    }

    [Fact]
    public void A_Helm_repository_over_plain_HTTP_keeps_its_http_url_and_gets_no_OCI_flag()
    {
        var credential = Credential(PipelineCredentialType.UsernamePassword, "http://charts.example.com/stable", null, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { RepositoryType = "helm" };

        var data = Data(PipelineSecretBuilder.Build(credential, UserPass));

        data.Should().Contain("url", "http://charts.example.com/stable").And.NotContainKey("insecureOCIForceHttp").And.NotContainKey("enableOCI");
    }

    /// <summary>A Helm repository served over HTTP (index.yaml) and a git server keep their URL and get no enableOCI.</summary>
    [Theory]
    [InlineData("helm", "helm")]
    [InlineData(null, "git")]
    public void Repositories_that_are_not_registries_keep_their_url_and_no_enableOCI(string? repositoryType, string expectedType)
    {
        var credential = Credential(PipelineCredentialType.UsernamePassword, "https://charts.example.com/stable", null, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { RepositoryType = repositoryType };

        var data = Data(PipelineSecretBuilder.Build(credential, UserPass));

        data.Should().Contain("url", "https://charts.example.com/stable").And.Contain("type", expectedType).And.NotContainKey("enableOCI");
    }
    [Fact]
    public void A_token_for_Jenkins_is_a_secretText_with_key_text()
    {
        var payload = PipelineSecretBuilder.Build(Credential(PipelineCredentialType.SecretText, null, null, SecretConsumer.Jenkins), Token);

        payload.Labels.Should().Contain("jenkins.io/credentials-type", "secretText");
        Data(payload).Should().Contain("text", "ghp_token123");
    }

    [Fact]
    public void A_kubeconfig_for_Argo_CD_becomes_a_cluster_secret_without_a_raw_kubeconfig_in_config()
    {
        var cluster = new ClusterAccess("prod", "https://10.0.0.1:6443", "Q0E=", null, null, "tok-abc", null, null, false);
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD, SecretConsumer.Jenkins),
            new PipelineSecretInputs(null, null, null, "apiVersion: v1\nkind: Config\n", cluster));

        payload.Labels.Should().Contain("argocd.argoproj.io/secret-type", "cluster")
            .And.Contain("jenkins.io/credentials-type", "kubeconfig");
        var data = Data(payload);
        data["name"].Should().Be("prod");
        data["server"].Should().Be("https://10.0.0.1:6443");
        data["kubeconfig"].Should().StartWith("apiVersion: v1");
        var config = JsonNode.Parse(data["config"])!;
        config["bearerToken"]!.GetValue<string>().Should().Be("tok-abc");
        config["tlsClientConfig"]!["caData"]!.GetValue<string>().Should().Be("Q0E=");
        config["tlsClientConfig"]!["insecure"]!.GetValue<bool>().Should().BeFalse();
    }

    /// <summary>
    /// With probe None nothing else reads the kubeconfig: an Argo CD cluster Secret without server and config, or with
    /// credentials Argo CD cannot use (a plugin, a file, none), would be published and fail only inside Argo CD. The
    /// condition names what is missing and where, never the content.
    /// </summary>
    [Theory]
    [InlineData("current-context: ci", "current-context: ''", null, "no context was given and the kubeconfig has no current-context; available contexts: \"ci\", \"other\"")]
    [InlineData("current-context: ci", "current-context: ci", "qa", "context \"qa\" is not in the kubeconfig; available contexts: \"ci\", \"other\"")]
    [InlineData("server: https://127.0.0.1:6443", "insecure-skip-tls-verify: true", null, "cluster \"prod\" has no server")]
    [InlineData("user: deployer", "user: nobody", null, "user \"nobody\" of context \"ci\" is not in the kubeconfig; available users: \"deployer\", \"root\"")]
    [InlineData("kind: Config", "kind: [Config", null, "the kubeconfig is not valid YAML")]
    [InlineData("token: s3cr3t-T0ken-do-not-print", "token: s3cr3t-T0ken-do-not-print\n    as: system:serviceaccount:kube-system:admin", null,
        "user deployer impersonates (as / as-groups), which an Argo CD cluster Secret cannot express")]
    [InlineData("token: s3cr3t-T0ken-do-not-print", "token: s3cr3t-T0ken-do-not-print\n    as-groups: [system:masters]", null,
        "user deployer impersonates")]
    [InlineData("token: s3cr3t-T0ken-do-not-print", "exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token]", null,
        "user \"deployer\" gets its credentials from an exec plugin")]
    [InlineData("token: s3cr3t-T0ken-do-not-print", "tokenFile: /var/run/secrets/token", null, "user \"deployer\" names a file in tokenFile")]
    [InlineData("server: https://127.0.0.1:6443", "server: https://127.0.0.1:6443\n    certificate-authority: /etc/kubernetes/ca.crt", null,
        "cluster \"prod\" names a file in certificate-authority; the operator does not read files named in a kubeconfig: embed the content as certificate-authority-data")]
    public void An_Argo_CD_cluster_Secret_from_a_kubeconfig_without_a_usable_context_is_refused_saying_what_is_missing(
        string find, string replace, string? context, string problem)
    {
        var kubeconfig = KubeconfigSamples.Valid.Replace(find, replace, StringComparison.Ordinal);
        var credential = Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD);
        credential.Spec.Kubeconfig = new KubeconfigSource { SecretRef = new SecretKeyReference { Name = "deploy-kubeconfig", Key = "kubeconfig" }, Context = context };
        var cluster = ArgoClusterAccess.Read(kubeconfig, context, out var clusterProblem);

        var build = () => PipelineSecretBuilder.Build(credential, new PipelineSecretInputs(null, null, null, kubeconfig, cluster, clusterProblem));

        var message = build.Should().Throw<UnbuildableSecretException>().Which.Message;
        message.Should().Contain(problem).And.Contain("Secret deploy-kubeconfig (key kubeconfig)").And.NotContain(KubeconfigSamples.Secret);
    }

    [Fact]
    public void The_sample_kubeconfig_gives_its_current_context_to_Argo_CD()
    {
        var cluster = ArgoClusterAccess.Read(KubeconfigSamples.Valid, null, out var problem);

        problem.Should().BeNull();
        cluster!.ContextName.Should().Be("ci");
        cluster.Server.Should().Be("https://127.0.0.1:6443");
        cluster.BearerToken.Should().Be(KubeconfigSamples.Secret);
    }

    /// <summary>
    /// Argo CD reaches the cluster as the check did: through the kubeconfig's proxy, checking the certificate against its
    /// tls-server-name. Without them the Secret was published as verified and failed inside Argo CD.
    /// </summary>
    [Fact]
    public void The_kubeconfig_proxy_and_tls_server_name_reach_the_Argo_CD_cluster_config()
    {
        var kubeconfig = KubeconfigSamples.Valid.Replace(
            "server: https://127.0.0.1:6443",
            "server: https://127.0.0.1:6443\n    tls-server-name: api.prod.internal\n    proxy-url: socks5://bastion.example.com:1080",
            StringComparison.Ordinal);
        var cluster = ArgoClusterAccess.Read(kubeconfig, null, out var problem);
        problem.Should().BeNull();

        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD),
            new PipelineSecretInputs(null, null, null, kubeconfig, cluster));

        var config = JsonNode.Parse(Data(payload)["config"])!;
        config["proxyUrl"]!.GetValue<string>().Should().Be("socks5://bastion.example.com:1080");
        config["tlsClientConfig"]!["serverName"]!.GetValue<string>().Should().Be("api.prod.internal");
    }

    /// <summary>
    /// Argo CD names a cluster by the cluster Secret's name and lets Applications target it by that name. Kubeconfigs of
    /// different clusters often share a context name (default, kubernetes-admin@kubernetes), which gave Argo CD two
    /// clusters of one name; spec.secret.argoCD.clusterName tells them apart, and without it the name stays the context's.
    /// </summary>
    [Fact]
    public void The_Argo_CD_cluster_name_is_spec_secret_argoCD_clusterName_else_the_context_name()
    {
        var cluster = ArgoClusterAccess.Read(KubeconfigSamples.Valid, null, out _);
        var inputs = new PipelineSecretInputs(null, null, null, KubeconfigSamples.Valid, cluster);
        var credential = Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD);
        Data(PipelineSecretBuilder.Build(credential, inputs))["name"].Should().Be("ci");

        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { ClusterName = "prod-eu" };
        var data = Data(PipelineSecretBuilder.Build(credential, inputs));

        data["name"].Should().Be("prod-eu");
        data["server"].Should().Be("https://127.0.0.1:6443");
    }

    /// <summary>
    /// The check sends a kubeconfig token trimmed. Argo CD sends bearerToken as given, and Go refuses a header value with a
    /// line break, so a token written with one (a quoted "…\n", a block scalar) passed the check and failed in Argo CD.
    /// </summary>
    [Theory]
    [InlineData("token: \"" + KubeconfigSamples.Secret + "\\n\"")]
    [InlineData("token: |\n      " + KubeconfigSamples.Secret)]
    [InlineData("token: \"  " + KubeconfigSamples.Secret + " \"")]
    public void The_Argo_CD_bearer_token_is_the_one_line_the_check_sent(string token)
    {
        var kubeconfig = KubeconfigSamples.Valid.Replace("token: " + KubeconfigSamples.Secret, token, StringComparison.Ordinal);
        kubeconfig.Should().NotBe(KubeconfigSamples.Valid);
        KubeconfigReader.Read(kubeconfig, null).Failure.Should().BeNull("the check accepts the token");

        var cluster = ArgoClusterAccess.Read(kubeconfig, null, out _);
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD),
            new PipelineSecretInputs(null, null, null, kubeconfig, cluster));

        // Compared without printing: the sample token stands for a real one.
        var sent = JsonNode.Parse(Data(payload)["config"])!["bearerToken"]!.GetValue<string>();
        (sent == KubeconfigSamples.Secret).Should().BeTrue("Argo CD must send the token the check sent, without white space around it");
    }

    /// <summary>
    /// Trimming the token must not change cluster Secrets that worked: an empty one (token: "" beside the user's other
    /// credentials) is written as earlier releases wrote it, so the upgrade rewrites no Secret and Argo CD keeps its cache.
    /// </summary>
    [Fact]
    public void An_empty_kubeconfig_token_is_written_as_before_so_an_upgrade_rewrites_no_cluster_Secret()
    {
        var kubeconfig = KubeconfigSamples.Valid
            .Replace("current-context: ci", "current-context: other", StringComparison.Ordinal)
            .Replace("    username: root", "    token: \"\"\n    username: root", StringComparison.Ordinal);
        kubeconfig.Should().Contain("token: \"\"");

        var cluster = ArgoClusterAccess.Read(kubeconfig, null, out var problem);
        problem.Should().BeNull();
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD),
            new PipelineSecretInputs(null, null, null, kubeconfig, cluster));

        // Compared without printing: the sample password stands for a real one.
        var earlier = $$"""{"tlsClientConfig":{"insecure":false},"bearerToken":"","username":"root","password":"{{KubeconfigSamples.Secret}}"}""";
        (Data(payload)["config"] == earlier).Should().BeTrue("the config is byte for byte what the earlier release wrote");
    }

    [Fact]
    public void Without_proxy_or_tls_server_name_the_Argo_CD_cluster_config_names_neither()
    {
        var cluster = ArgoClusterAccess.Read(KubeconfigSamples.Valid, null, out _);
        var payload = PipelineSecretBuilder.Build(
            Credential(PipelineCredentialType.Kubeconfig, null, null, SecretConsumer.ArgoCD),
            new PipelineSecretInputs(null, null, null, KubeconfigSamples.Valid, cluster));

        var config = JsonNode.Parse(Data(payload)["config"])!.AsObject();
        config.ContainsKey("proxyUrl").Should().BeFalse();
        config["tlsClientConfig"]!.AsObject().ContainsKey("serverName").Should().BeFalse();
    }

    [Theory]
    [InlineData(PipelineCredentialType.Kubeconfig, ArgoCDSecretType.Repository)]
    [InlineData(PipelineCredentialType.Kubeconfig, ArgoCDSecretType.RepoCreds)]
    [InlineData(PipelineCredentialType.UsernamePassword, ArgoCDSecretType.Cluster)]
    [InlineData(PipelineCredentialType.SecretText, ArgoCDSecretType.Cluster)]
    public void An_Argo_CD_secret_type_the_credential_type_cannot_fill_is_refused_naming_the_field(PipelineCredentialType type, ArgoCDSecretType secretType)
    {
        var credential = Credential(type, "https://git.example.com/a.git", null, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { SecretType = secretType };
        var cluster = new ClusterAccess("prod", "https://10.0.0.1:6443", null, null, null, "tok-abc", null, null, false);
        var inputs = new PipelineSecretInputs("ci-bot", "s3cret/pw", "ghp_token123", "apiVersion: v1\nkind: Config\n", cluster);

        var build = () => PipelineSecretBuilder.Build(credential, inputs);

        build.Should().Throw<UnbuildableSecretException>().Which.Message.Should()
            .StartWith($"spec.secret.argoCD.secretType {secretType} does not fit type {type}");
    }

    [Theory]
    [InlineData(ArgoCDSecretType.Repository, "spec.secret.argoCD.secretType Repository needs spec.server")]
    [InlineData(null, "spec.secret.argoCD.secretType RepoCreds (the default for type SecretText) needs spec.server")]
    public void An_Argo_CD_repository_without_a_server_is_refused_instead_of_lacking_its_url(ArgoCDSecretType? secretType, string message)
    {
        var credential = Credential(PipelineCredentialType.SecretText, null, null, SecretConsumer.ArgoCD);
        credential.Spec.Secret!.ArgoCD = new ArgoCDSettings { SecretType = secretType };

        var build = () => PipelineSecretBuilder.Build(credential, Token);

        build.Should().Throw<UnbuildableSecretException>().Which.Message.Should().StartWith(message);
    }

    [Theory]
    [InlineData("registry.local:5OOO")]
    [InlineData("https://git.example.com:99999/a.git")]
    [InlineData("https://git^example.com/a.git")]
    public void A_server_that_is_no_URL_is_refused_naming_spec_server(string server)
    {
        var build = () => PipelineSecretBuilder.Build(Credential(PipelineCredentialType.UsernamePassword, server, SecretFormat.BasicAuth, SecretConsumer.Tekton), UserPass);

        build.Should().Throw<UnbuildableSecretException>().Which.Message.Should().StartWith("spec.server is not a URL").And.NotContain(server);
    }

    [Fact]
    public void User_info_in_the_server_never_reaches_the_Secret()
    {
        const string Leaked = "glpat-XXXX";
        var git = Credential(PipelineCredentialType.UsernamePassword, $"https://oauth2:{Leaked}@gitlab.com/g/r.git", SecretFormat.BasicAuth, SecretConsumer.Tekton, SecretConsumer.ArgoCD);
        var registry = Credential(PipelineCredentialType.UsernamePassword, $"robot:{Leaked}@registry.example.com:5000", SecretFormat.DockerConfigJson, SecretConsumer.Tekton);

        var gitPayload = PipelineSecretBuilder.Build(git, UserPass);
        var registryPayload = PipelineSecretBuilder.Build(registry, UserPass);

        gitPayload.Annotations.Should().Contain("tekton.dev/git-0", "https://gitlab.com");
        Data(gitPayload).Should().Contain("url", "https://gitlab.com/g/r.git")
            .And.Contain(".git-credentials", "https://ci-bot:s3cret%2Fpw@gitlab.com\n");
        registryPayload.Annotations.Should().Contain("tekton.dev/docker-0", "https://registry.example.com:5000/");
        JsonNode.Parse(Data(registryPayload)[".dockerconfigjson"])!["auths"]!.AsObject().Select(p => p.Key).Should().Equal("registry.example.com:5000");
        foreach (var payload in new[] { gitPayload, registryPayload })
        {
            Data(payload).Values.Concat(payload.Annotations.Values).Concat(payload.Labels.Values).Should().NotContain(v => v.Contains(Leaked, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Opaque_without_consumers_has_only_the_base_keys()
    {
        var payload = PipelineSecretBuilder.Build(Credential(PipelineCredentialType.UsernamePassword, "https://git.example.com/a.git", null), UserPass);

        payload.Type.Should().Be("Opaque");
        Data(payload).Keys.Should().BeEquivalentTo("username", "password");
        payload.Annotations.Should().BeEmpty();
    }

    [Fact]
    public void The_secret_is_named_after_the_credential_unless_a_name_is_given()
    {
        var credential = Credential(PipelineCredentialType.SecretText, null, null);
        PipelineSecretBuilder.Build(credential, Token).Name.Should().Be("github-bot");

        credential.Spec.Secret!.Name = "gh-token";
        PipelineSecretBuilder.Build(credential, Token).Name.Should().Be("gh-token");
    }
}
