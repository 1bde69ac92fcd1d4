using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Pipeline;
using Passbox.IntegrationTests.Shipping;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Runtime.Api;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// PipelineCredential end to end: the real operator checks credentials against a real git server, a real registry and
/// the control plane's API server, and publishes Secrets shaped for Tekton, Argo CD and Jenkins. After every test the
/// operator's logs, the namespace's events and every credential's status are searched for each password, token and
/// kubeconfig the test used: none may appear.
/// </summary>
[Collection(PipelineOperatorTestsDefinition.Name)]
public sealed class PipelineCredentialTests(
    ControlPlaneFixture controlPlane, GitHttpFixture git, RegistryFixture registry, RegistryTokenAuthFixture tokenRegistry) : IAsyncLifetime
{
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "pcred");
        kit = run.Kit;
        run.MarkSecret(git.Password, Uri.EscapeDataString(git.Password), registry.Password, Uri.EscapeDataString(registry.Password), tokenRegistry.Password);
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    // ---- UsernamePassword against the git server ------------------------------------------------------------------

    [Fact]
    public async Task Git_credentials_that_log_in_publish_a_basic_auth_Secret_with_exactly_username_and_password()
    {
        await kit.CreateSecretAsync("git-input", new Dictionary<string, string> { ["password"] = git.Password });

        await kit.CreateAsync(GitCredential("git-plain", "git-input", SecretFormat.BasicAuth));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("git-plain", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var secret = await kit.WaitForSecretAsync("git-plain");
        secret.Type.Should().Be("kubernetes.io/basic-auth");
        ClusterTestKit.Decode(secret).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["username"] = git.User,
            ["password"] = git.Password,
        });
        secret.Metadata.Annotations.Should().NotContainKey("tekton.dev/git-0");
        secret.Metadata.OwnerReferences.Should().ContainSingle(o => o.Uid == ready.Metadata.Uid && o.Controller == true);
        secret.Metadata.Labels.Should().Contain(ApiGroup.ManagedByLabel, "passbox").And.Contain(ApiGroup.CredentialLabel, "git-plain");
        ready.Status!.Probe.Should().Be("GitHTTP");
        ready.Status.ServerVersion.Should().StartWith("git/");
        ready.Status.SecretName.Should().Be("git-plain");

        // The first publication is one event that reads as one sentence: the check's words follow a colon, not a full stop.
        var events = await kit.WaitForEventsAsync(seen => seen.Any(e => e.InvolvedObject.Name == "git-plain" && e.Reason == "SecretCreated"), "a SecretCreated event");
        events.Single(e => e.InvolvedObject.Name == "git-plain" && e.Reason == "SecretCreated").Message
            .Should().StartWith($"Secret git-plain created after a successful check: user {git.User} can read ");
    }

    [Fact]
    public async Task Git_credentials_for_Tekton_get_the_git_annotation_and_a_credential_store_that_git_accepts()
    {
        await kit.CreateSecretAsync("tekton-input", new Dictionary<string, string> { ["password"] = git.Password });

        await kit.CreateAsync(GitCredential("tekton-git", "tekton-input", SecretFormat.BasicAuth, SecretConsumer.Tekton));

        await kit.WaitForConditionAsync<PipelineCredential>("tekton-git", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var secret = await kit.WaitForSecretAsync("tekton-git");
        var origin = new Uri(git.RepositoryUrl).GetLeftPart(UriPartial.Authority);
        secret.Type.Should().Be("kubernetes.io/basic-auth");
        secret.Metadata.Annotations.Should().Contain("tekton.dev/git-0", origin);
        var data = ClusterTestKit.Decode(secret);
        data.Keys.Should().BeEquivalentTo("username", "password", ".gitconfig", ".git-credentials");
        data["username"].Should().Be(git.User);
        data["password"].Should().Be(git.Password);
        data[".gitconfig"].Should().Be($"[credential \"{origin}\"]\n\thelper = store\n");

        // What the git-clone task does with its basic-auth workspace: both files into $HOME, then git talks to the server.
        var home = Directory.CreateTempSubdirectory("passbox-it-githome-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(home, ".gitconfig"), data[".gitconfig"]);
            await File.WriteAllTextAsync(Path.Combine(home, ".git-credentials"), data[".git-credentials"]);
            var result = ShippingTools.TryRun("git", ["ls-remote", git.RepositoryUrl], workingDirectory: home, environment: new Dictionary<string, string>
            {
                ["HOME"] = home,
                ["XDG_CONFIG_HOME"] = Path.Combine(home, ".config"),
                ["GIT_CONFIG_NOSYSTEM"] = "1",
                ["GIT_TERMINAL_PROMPT"] = "0",
                ["GIT_ASKPASS"] = "/bin/false",
            });
            result.ExitCode.Should().Be(0, "git reads the published credential store: {0}", result.StandardError);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>
    /// A git server written with its default port (http://git.passbox.invalid:80/…), reached through an egress proxy so
    /// that the real git server answers under that name. git's credential store compares host:port as a string, and the
    /// port was dropped from the published store: a clone of the URL as written asked for a password. Both spellings of
    /// the URL now find the credentials (probe None: only the proxy knows the name).
    /// </summary>
    [Fact]
    public async Task Git_credentials_for_Tekton_with_a_written_default_port_are_found_by_git_for_both_spellings_of_the_url()
    {
        var real = new Uri(git.RepositoryUrl);
        await using var proxy = new ConnectProxy((_, _) => (real.Host, real.Port));
        var withPort = $"http://git.passbox.invalid:80{real.PathAndQuery}";
        var withoutPort = $"http://git.passbox.invalid{real.PathAndQuery}";
        await kit.CreateSecretAsync("tekton-port-input", new Dictionary<string, string> { ["password"] = git.Password });

        await kit.CreateAsync(GitCredential("tekton-port", "tekton-port-input", SecretFormat.BasicAuth, c =>
        {
            c.Spec.Server = withPort;
            c.Spec.Validation!.Probe = PipelineProbe.None;
            c.Spec.Secret!.Consumers = [SecretConsumer.Tekton];
        }));

        await kit.WaitForConditionAsync<PipelineCredential>("tekton-port", ConditionTypes.Ready, "True", ConditionReasons.ValidationDisabled);
        var secret = await kit.WaitForSecretAsync("tekton-port");
        var data = ClusterTestKit.Decode(secret);
        var home = Directory.CreateTempSubdirectory("passbox-it-githome-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(home, ".gitconfig"), data[".gitconfig"]);
            await File.WriteAllTextAsync(Path.Combine(home, ".git-credentials"), data[".git-credentials"]);
            foreach (var url in new[] { withPort, withoutPort })
            {
                var result = ShippingTools.TryRun("git", ["ls-remote", url], workingDirectory: home, environment: new Dictionary<string, string>
                {
                    ["HOME"] = home,
                    ["XDG_CONFIG_HOME"] = Path.Combine(home, ".config"),
                    ["GIT_CONFIG_NOSYSTEM"] = "1",
                    ["GIT_TERMINAL_PROMPT"] = "0",
                    ["GIT_ASKPASS"] = "/bin/false",
                    ["http_proxy"] = proxy.Address.ToString(),
                    ["no_proxy"] = string.Empty,
                    ["NO_PROXY"] = string.Empty,
                });
                result.ExitCode.Should().Be(0, "git finds the published credentials for {0}: {1}", url, result.StandardError);
            }
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }

        proxy.Requested.Should().Contain("git.passbox.invalid:80");
        secret.Metadata.Annotations.Should().Contain("tekton.dev/git-0", "http://git.passbox.invalid:80")
            .And.Contain("tekton.dev/git-1", "http://git.passbox.invalid");
    }

    [Fact]
    public async Task Git_credentials_for_Jenkins_carry_its_labels_and_annotations()
    {
        await kit.CreateSecretAsync("jenkins-input", new Dictionary<string, string> { ["password"] = git.Password });

        await kit.CreateAsync(GitCredential("jenkins-git", "jenkins-input", SecretFormat.BasicAuth, SecretConsumer.Jenkins));

        await kit.WaitForConditionAsync<PipelineCredential>("jenkins-git", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var secret = await kit.WaitForSecretAsync("jenkins-git");
        secret.Type.Should().Be("kubernetes.io/basic-auth");
        ClusterTestKit.Decode(secret).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["username"] = git.User,
            ["password"] = git.Password,
        });
        secret.Metadata.Labels.Should().Contain("jenkins.io/credentials-type", "usernamePassword")
            .And.Contain("jenkins.io/credentials-scope", "global");
        secret.Metadata.Annotations.Should().Contain("jenkins.io/credentials-id", "jenkins-git")
            .And.Contain("jenkins.io/credentials-description", "e2e release bot");
    }

    [Fact]
    public async Task Git_credentials_for_Argo_CD_are_an_Opaque_repository_Secret_with_exactly_its_keys()
    {
        await kit.CreateSecretAsync("argo-git-input", new Dictionary<string, string> { ["password"] = git.Password });

        await kit.CreateAsync(GitCredential("argo-git", "argo-git-input", SecretFormat.Opaque, c =>
        {
            c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD];
            c.Spec.Secret.ArgoCD = new ArgoCDSettings { SecretType = ArgoCDSecretType.Repository };
        }));

        await kit.WaitForConditionAsync<PipelineCredential>("argo-git", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var secret = await kit.WaitForSecretAsync("argo-git");
        secret.Type.Should().Be("Opaque");
        secret.Metadata.Labels.Should().Contain("argocd.argoproj.io/secret-type", "repository");
        secret.Metadata.Labels.Keys.Should().NotContain(k => k.StartsWith("jenkins.io/", StringComparison.Ordinal));
        secret.Metadata.Annotations.Keys.Should().NotContain(k => k.StartsWith("tekton.dev/", StringComparison.Ordinal));
        ClusterTestKit.Decode(secret).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["url"] = git.RepositoryUrl,
            ["type"] = "git",
            ["username"] = git.User,
            ["password"] = git.Password,
        });
    }

    [Fact]
    public async Task A_wrong_git_password_fails_authentication_and_publishes_nothing()
    {
        const string Wrong = "wrong-git-password-7";
        run.MarkSecret(Wrong);
        await kit.CreateSecretAsync("wrong-input", new Dictionary<string, string> { ["password"] = Wrong });

        await kit.CreateAsync(GitCredential("git-wrong", "wrong-input", SecretFormat.BasicAuth, SecretConsumer.Tekton));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("git-wrong", ConditionTypes.Validated, "False", "AuthenticationFailed");
        Condition(failed, ConditionTypes.Ready).Reason.Should().Be("AuthenticationFailed");
        Condition(failed, ConditionTypes.SecretSynced).Reason.Should().Be(ConditionReasons.WaitingForValidation);
        (await kit.TryGetSecretAsync("git-wrong")).Should().BeNull("nothing is published before a check succeeds");
    }

    // ---- UsernamePassword against the registry ----------------------------------------------------------------------

    [Fact]
    public async Task Registry_credentials_that_log_in_publish_a_dockerconfigjson_the_registry_accepts()
    {
        await kit.CreateSecretAsync("reg-input", new Dictionary<string, string> { ["password"] = registry.Password });
        run.MarkSecret(Base64($"{registry.User}:{registry.Password}"));

        await kit.CreateAsync(RegistryCredential("registry", "reg-input", SecretConsumer.Tekton));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("registry", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        ready.Status!.Probe.Should().Be("ContainerRegistry");
        var secret = await kit.WaitForSecretAsync("registry");
        secret.Type.Should().Be("kubernetes.io/dockerconfigjson");
        secret.Metadata.Annotations.Should().Contain("tekton.dev/docker-0", registry.Url);
        var data = ClusterTestKit.Decode(secret);
        data.Keys.Should().Equal(".dockerconfigjson");
        var auths = JsonNode.Parse(data[".dockerconfigjson"])!["auths"]!.AsObject();
        auths.Select(a => a.Key).Should().Equal(registry.HostAndPort);
        var entry = auths[registry.HostAndPort]!;
        entry["username"]!.GetValue<string>().Should().Be(registry.User);
        entry["password"]!.GetValue<string>().Should().Be(registry.Password);
        var auth = entry["auth"]!.GetValue<string>();
        Encoding.UTF8.GetString(Convert.FromBase64String(auth)).Should().Be($"{registry.User}:{registry.Password}");

        // What a container runtime does with the pull secret: send the auth entry to the registry.
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(registry.Url + "/v2/"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", auth);
        using var response = await client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    /// <summary>
    /// Registry credentials for Argo CD are a Helm repository in the registry (type helm, enableOCI, url without scheme):
    /// what Argo CD's repo server then does with them — <c>helm registry login</c> to the url's host and a pull of
    /// <c>oci://url/chart</c> — is done here with the real helm against the real registry.
    /// </summary>
    [Fact]
    public async Task Registry_credentials_for_Argo_CD_let_helm_log_in_and_pull_a_chart_from_the_registry()
    {
        await kit.CreateSecretAsync("argo-reg-input", new Dictionary<string, string> { ["password"] = registry.Password });
        await kit.CreateAsync(RegistryCredential("argo-registry", "argo-reg-input", c =>
        {
            c.Spec.Server = registry.Url + "/charts";
            c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD];
        }));

        await kit.WaitForConditionAsync<PipelineCredential>("argo-registry", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var data = ClusterTestKit.Decode(await kit.WaitForSecretAsync("argo-registry"));
        data.Should().Contain("type", "helm").And.Contain("enableOCI", "true").And.Contain("url", $"{registry.HostAndPort}/charts");
        registry.Url.Should().StartWith("http://", "the test registry serves plain HTTP");
        data.Should().Contain("insecureOCIForceHttp", "true");

        var work = Directory.CreateTempSubdirectory("passbox-helm-oci-");
        try
        {
            // A chart pushed by someone else (their own helm login), then pulled with what the Secret holds only.
            Helm(work, "publisher", ["create", Path.Combine(work.FullName, "demo")]);
            Helm(work, "publisher", ["package", Path.Combine(work.FullName, "demo"), "-d", work.FullName]);
            Helm(work, "publisher", ["registry", "login", registry.HostAndPort, "--username", registry.User, "--password-stdin", "--plain-http"], registry.Password);
            Helm(work, "publisher", ["push", Path.Combine(work.FullName, "demo-0.1.0.tgz"), $"oci://{registry.HostAndPort}/charts", "--plain-http"]);

            var url = data["url"];
            Directory.CreateDirectory(Path.Combine(work.FullName, "anonymous"));
            Directory.CreateDirectory(Path.Combine(work.FullName, "pulled"));
            var refused = ShippingTools.TryRun(ShippingTools.Helm, ["pull", $"oci://{url}/demo", "--version", "0.1.0", "--plain-http", "-d", Path.Combine(work.FullName, "anonymous")], environment: HelmHome(work, "anonymous"));
            refused.ExitCode.Should().NotBe(0, "the registry lets no one pull without credentials, so the login below is what lets Argo CD in");

            // Plain HTTP only as Argo CD does it: when the Secret says so (the url has no scheme to tell).
            string[] plainHttp = data.GetValueOrDefault("insecureOCIForceHttp") == "true" ? ["--plain-http"] : [];
            Helm(work, "argocd", ["registry", "login", url[..url.IndexOf('/', StringComparison.Ordinal)], "--username", data["username"], "--password-stdin", .. plainHttp], data["password"]);
            Helm(work, "argocd", ["pull", $"oci://{url}/demo", "--version", "0.1.0", .. plainHttp, "-d", Path.Combine(work.FullName, "pulled")]);
            File.Exists(Path.Combine(work.FullName, "pulled", "demo-0.1.0.tgz")).Should().BeTrue();
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>Runs helm with its own configuration (registry logins) per <paramref name="who"/> under <paramref name="work"/>.</summary>
    private static void Helm(DirectoryInfo work, string who, IEnumerable<string> args, string? stdin = null)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm, args, stdin, environment: HelmHome(work, who));
        result.ExitCode.Should().Be(0, $"{result.CommandLine} should succeed: {result.StandardError}");
    }

    private static Dictionary<string, string> HelmHome(DirectoryInfo work, string who) => new()
    {
        ["HELM_CONFIG_HOME"] = Path.Combine(work.FullName, who, "config"),
        ["HELM_CACHE_HOME"] = Path.Combine(work.FullName, who, "cache"),
        ["HELM_DATA_HOME"] = Path.Combine(work.FullName, who, "data"),
    };

    /// <summary>
    /// An insecure in-house registry (plain HTTP) written as docker users write one, host:port, which means https: the
    /// condition only asked "does the server speak HTTPS on this port?". It now says that it answers plain HTTP and how to
    /// write it; written that way the same login passes.
    /// </summary>
    [Fact]
    public async Task A_plain_HTTP_registry_written_without_a_scheme_is_told_to_be_written_http_and_passes_when_it_is()
    {
        await kit.CreateSecretAsync("insecure-input", new Dictionary<string, string> { ["password"] = registry.Password });
        await kit.CreateAsync(RegistryCredential("insecure", "insecure-input", c => c.Spec.Server = registry.HostAndPort));

        var refused = await kit.WaitForConditionAsync<PipelineCredential>("insecure", ConditionTypes.Validated, "False", "TLSFailed");
        Condition(refused, ConditionTypes.Validated).Message.Should().Be(
            $"TLS with {registry.HostAndPort} failed: it answers plain HTTP, not HTTPS; for a registry served without TLS (an insecure registry), " +
            $"write spec.server as http://{registry.HostAndPort} (credentials go over plain HTTP only to a server written http://)");

        await kit.PatchAsync<PipelineCredential>("insecure", new { spec = new { server = $"http://{registry.HostAndPort}" } });
        await kit.WaitForConditionAsync<PipelineCredential>("insecure", ConditionTypes.Ready, "True", ConditionReasons.Validated);
    }

    /// <summary>
    /// A registry behind HTTPS with an in-house CA: the check refused its certificate, and a PipelineCredential had no
    /// way to name the CA (only the system's were trusted), so such a registry or git server could never be checked.
    /// spec.tls.caSecretRef names it; its Secret, created after the credential, is picked up at once like any source.
    /// </summary>
    [Fact]
    public async Task A_registry_with_a_private_CA_is_checked_with_the_CA_named_in_spec_tls_once_its_Secret_exists()
    {
        using var pki = new ApiServerCertificates("in-house registry CA");
        using var certificate = pki.IssueLoopbackServer();
        var plain = new Uri(registry.Url);
        await using var https = new TlsTerminator(certificate, plain.Host, plain.Port);
        await kit.CreateSecretAsync("private-ca-input", new Dictionary<string, string> { ["password"] = registry.Password });
        await kit.CreateAsync(RegistryCredential("private-ca", "private-ca-input", c => c.Spec.Server = $"https://127.0.0.1:{https.Port}"));

        var refused = await kit.WaitForConditionAsync<PipelineCredential>("private-ca", ConditionTypes.Validated, "False", "TLSFailed");
        Condition(refused, ConditionTypes.Validated).Message.Should().Be(
            $"TLS with 127.0.0.1:{https.Port} failed: the server certificate is not signed by the system's certificate authorities " +
            "(if an in-house CA signed it, name that CA in spec.tls.caSecretRef)");

        // A failed handshake sent no credential: it is tried again within seconds (backoff), not an hour later, so a
        // certificate that was wrong for a moment does not leave the credential failed until the next interval.
        var failedAt = refused.Status!.LastAttempted;
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>("private-ca"), c => c!.Status!.LastAttempted > failedAt,
            "the TLS failure to be retried with backoff", TimeSpan.FromSeconds(15));

        await kit.PatchAsync<PipelineCredential>("private-ca", new { spec = new { tls = new { caSecretRef = new { name = "in-house-ca", key = "ca.crt" } } } });
        await kit.WaitForConditionAsync<PipelineCredential>("private-ca", ConditionTypes.Validated, "False", "SourceSecretMissing");
        await kit.CreateSecretAsync("in-house-ca", new Dictionary<string, string> { ["ca.crt"] = pki.AuthorityPem });

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("private-ca", ConditionTypes.Ready, "True", ConditionReasons.Validated, TimeSpan.FromSeconds(5));
        Condition(ready, ConditionTypes.Validated).Message.Should().Be($"user {registry.User} logged in to registry 127.0.0.1:{https.Port}");
        var secret = await kit.WaitForSecretAsync("private-ca");
        ClusterTestKit.Decode(secret).Keys.Should().Equal(".dockerconfigjson");
    }

    [Fact]
    public async Task A_wrong_registry_password_fails_authentication_and_publishes_nothing()
    {
        const string Wrong = "wrong-registry-password-3";
        run.MarkSecret(Wrong);
        await kit.CreateSecretAsync("reg-wrong-input", new Dictionary<string, string> { ["password"] = Wrong });

        await kit.CreateAsync(RegistryCredential("registry-wrong", "reg-wrong-input"));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("registry-wrong", ConditionTypes.Ready, "False", "AuthenticationFailed");
        Condition(failed, ConditionTypes.Validated).Reason.Should().Be("AuthenticationFailed");
        (await kit.TryGetSecretAsync("registry-wrong")).Should().BeNull();
    }

    [Fact]
    public async Task Registry_credentials_behind_a_Bearer_challenge_log_in_through_the_token_service()
    {
        await kit.CreateSecretAsync("bearer-input", new Dictionary<string, string> { ["password"] = tokenRegistry.Password });
        run.MarkSecret(Base64($"{tokenRegistry.User}:{tokenRegistry.Password}"));
        var issued = tokenRegistry.Tokens.TokensIssued;

        await kit.CreateAsync(RegistryCredential("bearer", "bearer-input", c =>
        {
            c.Spec.Server = tokenRegistry.Url;
            c.Spec.UsernamePassword!.Username = tokenRegistry.User;
        }));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("bearer", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        ready.Status!.ServerVersion.Should().Be("registry/2.0");
        tokenRegistry.Tokens.TokensIssued.Should().BeGreaterThan(issued, "the probe fetched a token from the realm the registry named");
        var secret = await kit.WaitForSecretAsync("bearer");
        secret.Type.Should().Be("kubernetes.io/dockerconfigjson");
        var registryHost = new Uri(tokenRegistry.Url).Authority;
        var data = ClusterTestKit.Decode(secret);
        data.Keys.Should().Equal(".dockerconfigjson");
        var auths = JsonNode.Parse(data[".dockerconfigjson"])!["auths"]!.AsObject();
        auths.Select(a => a.Key).Should().Equal(registryHost);
        auths[registryHost]!["password"]!.GetValue<string>().Should().Be(tokenRegistry.Password);
    }

    [Fact]
    public async Task A_wrong_password_refused_by_the_registry_token_service_fails_authentication()
    {
        const string Wrong = "wrong-token-service-password-9";
        run.MarkSecret(Wrong);
        await kit.CreateSecretAsync("bearer-wrong-input", new Dictionary<string, string> { ["password"] = Wrong });
        var refusals = tokenRegistry.Tokens.Refusals;

        await kit.CreateAsync(RegistryCredential("bearer-wrong", "bearer-wrong-input", c =>
        {
            c.Spec.Server = tokenRegistry.Url;
            c.Spec.UsernamePassword!.Username = tokenRegistry.User;
        }));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("bearer-wrong", ConditionTypes.Ready, "False", "AuthenticationFailed");
        Condition(failed, ConditionTypes.Validated).Message.Should().Contain("token service");
        tokenRegistry.Tokens.Refusals.Should().BeGreaterThan(refusals);
        (await kit.TryGetSecretAsync("bearer-wrong")).Should().BeNull();
    }

    // ---- SecretText -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_token_for_Argo_CD_without_a_probe_becomes_repo_creds_and_is_ready_without_a_check()
    {
        var token = NewToken();
        await kit.CreateSecretAsync("argo-token", new Dictionary<string, string> { ["token"] = token });

        await kit.CreateAsync(TokenCredential("argo-repos", "argo-token", c =>
        {
            c.Spec.Server = git.BaseUrl;
            c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD];
            c.Spec.Secret.ArgoCD = new ArgoCDSettings { Project = "platform" };
        }));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("argo-repos", ConditionTypes.Ready, "True", ConditionReasons.ValidationDisabled);
        ready.Status!.Probe.Should().Be("None");
        Condition(ready, ConditionTypes.Validated).Reason.Should().Be(ConditionReasons.ValidationDisabled);
        var secret = await kit.WaitForSecretAsync("argo-repos");
        secret.Type.Should().Be("Opaque");
        secret.Metadata.Labels.Should().Contain("argocd.argoproj.io/secret-type", "repo-creds");
        ClusterTestKit.Decode(secret).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["token"] = token,
            ["url"] = git.BaseUrl,
            ["type"] = "git",
            ["username"] = "x-access-token",
            ["password"] = token,
            ["project"] = "platform",
        });
    }

    [Fact]
    public async Task A_token_for_Jenkins_is_a_secretText_credential_with_key_text()
    {
        var token = NewToken();
        await kit.CreateSecretAsync("jenkins-token", new Dictionary<string, string> { ["token"] = token });

        await kit.CreateAsync(TokenCredential("jenkins-token-cred", "jenkins-token", c => c.Spec.Secret!.Consumers = [SecretConsumer.Jenkins]));

        await kit.WaitForConditionAsync<PipelineCredential>("jenkins-token-cred", ConditionTypes.Ready, "True", ConditionReasons.ValidationDisabled);
        var secret = await kit.WaitForSecretAsync("jenkins-token-cred");
        secret.Metadata.Labels.Should().Contain("jenkins.io/credentials-type", "secretText")
            .And.Contain("jenkins.io/credentials-scope", "global");
        secret.Metadata.Annotations.Should().Contain("jenkins.io/credentials-id", "jenkins-token-cred");
        secret.Type.Should().Be("Opaque");
        ClusterTestKit.Decode(secret).Should().BeEquivalentTo(new Dictionary<string, string> { ["token"] = token, ["text"] = token });
    }

    [Fact]
    public async Task A_token_for_Tekton_becomes_a_git_credential_store_with_the_token_as_password()
    {
        var token = NewToken();
        await kit.CreateSecretAsync("tekton-token", new Dictionary<string, string> { ["token"] = token });

        await kit.CreateAsync(TokenCredential("tekton-token-cred", "tekton-token", c =>
        {
            c.Spec.Server = git.RepositoryUrl;
            c.Spec.Secret!.Consumers = [SecretConsumer.Tekton];
        }));

        await kit.WaitForConditionAsync<PipelineCredential>("tekton-token-cred", ConditionTypes.Ready, "True", ConditionReasons.ValidationDisabled);
        var secret = await kit.WaitForSecretAsync("tekton-token-cred");
        var origin = new Uri(git.RepositoryUrl);
        secret.Type.Should().Be("Opaque");
        secret.Metadata.Annotations.Should().Contain("tekton.dev/git-0", origin.GetLeftPart(UriPartial.Authority));
        ClusterTestKit.Decode(secret).Should().BeEquivalentTo(new Dictionary<string, string>
        {
            ["token"] = token,
            [".gitconfig"] = $"[credential \"{origin.GetLeftPart(UriPartial.Authority)}\"]\n\thelper = store\n",
            [".git-credentials"] = $"{origin.Scheme}://x-access-token:{token}@{origin.Authority}\n",
        });
    }

    // ---- Kubeconfig against the control plane -----------------------------------------------------------------------

    [Fact]
    public async Task A_working_kubeconfig_for_Jenkins_is_published_and_the_published_file_works_with_kubectl()
    {
        var kubeconfig = await CiKubeconfigAsync();
        await kit.CreateSecretAsync("deploy-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("deploy", "deploy-input", c => c.Spec.Secret!.Consumers = [SecretConsumer.Jenkins]));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("deploy", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        ready.Status!.Probe.Should().Be("KubernetesAPI");
        ready.Status.ServerVersion.Should().StartWith("v1.");
        var secret = await kit.WaitForSecretAsync("deploy");
        secret.Type.Should().Be("Opaque");
        secret.Metadata.Labels.Should().Contain("jenkins.io/credentials-type", "kubeconfig").And.Contain("jenkins.io/credentials-scope", "global");
        secret.Metadata.Annotations.Should().Contain("jenkins.io/credentials-id", "deploy");
        var data = ClusterTestKit.Decode(secret);
        data.Should().Equal(new Dictionary<string, string> { ["kubeconfig"] = kubeconfig }, "the kubeconfig is published as it was given");

        // A pipeline mounts the Secret and points kubectl at the file.
        await KubectlListsNamespacesWithAsync(data["kubeconfig"]);
    }

    /// <summary>
    /// kubectl, Jenkins and a Tekton task read the kubeconfig key without a context flag, so they take its
    /// current-context. Here that names a cluster nobody listens on, while spec.kubeconfig.context named the one checked:
    /// the published kubeconfig took kubectl to the unchecked cluster.
    /// </summary>
    [Fact]
    public async Task A_kubeconfig_checked_in_another_context_than_its_current_one_takes_kubectl_to_the_checked_cluster()
    {
        var kubeconfig = (await CiKubeconfigAsync())
            .Replace("clusters:\n", "clusters:\n- name: elsewhere\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\n", StringComparison.Ordinal)
            .Replace("contexts:\n", "contexts:\n- name: elsewhere\n  context:\n    cluster: elsewhere\n    user: ci-deployer\n", StringComparison.Ordinal)
            .Replace("current-context: passbox-local", "current-context: elsewhere", StringComparison.Ordinal);
        kubeconfig.Should().Contain("current-context: elsewhere").And.Contain("name: elsewhere\n  context:");
        run.MarkSecret(kubeconfig);
        await kit.CreateSecretAsync("other-context-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("other-context", "other-context-input", c =>
        {
            c.Spec.Kubeconfig!.Context = "passbox-local";
            c.Spec.Secret!.Consumers = [SecretConsumer.Jenkins];
        }));

        await kit.WaitForConditionAsync<PipelineCredential>("other-context", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var published = ClusterTestKit.Decode(await kit.WaitForSecretAsync("other-context"))["kubeconfig"];
        run.MarkSecret(published);
        await KubectlListsNamespacesWithAsync(published);
    }

    /// <summary>What a pipeline does with the Secret: mount it and point kubectl at the file, without --context.</summary>
    private async Task KubectlListsNamespacesWithAsync(string kubeconfig)
    {
        var file = Path.Combine(Path.GetTempPath(), $"passbox-it-kubeconfig-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllTextAsync(file, kubeconfig);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var result = ShippingTools.TryRun(ShippingTools.Kubectl, ["--kubeconfig", file, "get", "namespaces", "-o", "name"]);
            result.ExitCode.Should().Be(0, "kubectl with the published kubeconfig lists namespaces: {0}", result.StandardError);
            result.StandardOutput.Should().Contain($"namespace/{run.Namespace}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_kubeconfig_with_a_bad_token_fails_authentication()
    {
        const string BadToken = "not-a-valid-token-0123456789abcdef";
        run.MarkSecret(BadToken);
        var kubeconfig = await CiKubeconfigAsync(BadToken);
        await kit.CreateSecretAsync("bad-kc-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("bad-kc", "bad-kc-input"));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("bad-kc", ConditionTypes.Ready, "False", "AuthenticationFailed");
        Condition(failed, ConditionTypes.Validated).Message.Should().Contain("HTTP 401");
        (await kit.TryGetSecretAsync("bad-kc")).Should().BeNull();
    }

    [Fact]
    public async Task A_kubeconfig_context_that_does_not_exist_is_an_invalid_kubeconfig_naming_the_context()
    {
        await kit.CreateSecretAsync("ctx-input", new Dictionary<string, string> { ["kubeconfig"] = await CiKubeconfigAsync() });

        await kit.CreateAsync(KubeconfigCredential("ctx", "ctx-input", c => c.Spec.Kubeconfig!.Context = "production"));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("ctx", ConditionTypes.Ready, "False", "InvalidKubeconfig");
        Condition(failed, ConditionTypes.Validated).Message.Should().Contain("\"production\"").And.Contain("passbox-local");
        (await kit.TryGetSecretAsync("ctx")).Should().BeNull();
    }

    [Fact]
    public async Task A_kubeconfig_with_an_exec_plugin_is_unsupported_and_nothing_is_executed()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"passbox-it-exec-{Guid.NewGuid():N}");
        var env = ControlPlaneEnv();
        var ca = Base64(await File.ReadAllTextAsync(env["KUBE_CA_FILE"]));
        var kubeconfig = $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: local
              cluster:
                server: {env["KUBE_SERVER"]}
                certificate-authority-data: {ca}
            users:
            - name: plugin
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: /bin/sh
                  args: ["-c", "touch {marker}"]
                  interactiveMode: Never
            contexts:
            - name: local
              context:
                cluster: local
                user: plugin
            current-context: local

            """;
        await kit.CreateSecretAsync("exec-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("exec", "exec-input", c => c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD, SecretConsumer.Jenkins]));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("exec", ConditionTypes.Ready, "False", "Unsupported");
        Condition(failed, ConditionTypes.Validated).Message.Should().Contain("exec plugin");
        File.Exists(marker).Should().BeFalse("the operator never runs a command from a kubeconfig");
        (await kit.TryGetSecretAsync("exec")).Should().BeNull();
    }

    [Fact]
    public async Task A_kubeconfig_that_is_not_YAML_is_refused_by_position_without_quoting_it()
    {
        var token = NewToken();
        var broken = $"apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: {token}\n  [unclosed: {token}\n";
        await kit.CreateSecretAsync("broken-input", new Dictionary<string, string> { ["kubeconfig"] = broken });

        await kit.CreateAsync(KubeconfigCredential("broken", "broken-input"));

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("broken", ConditionTypes.Ready, "False", "InvalidKubeconfig");
        Condition(failed, ConditionTypes.Validated).Message.Should().MatchRegex(@"line \d+, column \d+");
        (await kit.TryGetSecretAsync("broken")).Should().BeNull();
        // DisposeAsync checks that neither the logs, the events nor the status quote the token.
    }

    [Fact]
    public async Task A_kubeconfig_for_Argo_CD_becomes_a_cluster_Secret_with_name_server_and_config()
    {
        var env = ControlPlaneEnv();
        await kit.CreateSecretAsync("argo-kc-input", new Dictionary<string, string> { ["kubeconfig"] = await CiKubeconfigAsync() });

        await kit.CreateAsync(KubeconfigCredential("argo-cluster", "argo-kc-input", c => c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD]));

        await kit.WaitForConditionAsync<PipelineCredential>("argo-cluster", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        var secret = await kit.WaitForSecretAsync("argo-cluster");
        secret.Metadata.Labels.Should().Contain("argocd.argoproj.io/secret-type", "cluster");
        var data = ClusterTestKit.Decode(secret);
        data.Keys.Should().BeEquivalentTo("kubeconfig", "name", "server", "config");
        data["name"].Should().Be("passbox-local");
        data["server"].Should().Be(env["KUBE_SERVER"]);
        var config = JsonNode.Parse(data["config"])!;
        config["bearerToken"]!.GetValue<string>().Should().Be(env["CI_TOKEN"]);
        var tls = config["tlsClientConfig"]!;
        tls["insecure"]!.GetValue<bool>().Should().BeFalse();
        Encoding.UTF8.GetString(Convert.FromBase64String(tls["caData"]!.GetValue<string>()))
            .Should().Be(await File.ReadAllTextAsync(env["KUBE_CA_FILE"]));
        data["config"].Should().NotContain("apiVersion").And.NotContain("clusters");
    }

    /// <summary>
    /// A kubeconfig for a cluster the operator cannot reach (another network, a private endpoint) with probe None: the
    /// schema refused it before, though None was documented for this. It is published unchecked, for Argo CD and Jenkins.
    /// </summary>
    [Fact]
    public async Task A_kubeconfig_with_probe_None_for_a_cluster_the_operator_cannot_reach_is_published_without_a_check()
    {
        var env = ControlPlaneEnv();
        const string Unreachable = "https://api.private-cluster.invalid:6443";
        var kubeconfig = (await CiKubeconfigAsync()).Replace($"    server: {env["KUBE_SERVER"]}\n", $"    server: {Unreachable}\n", StringComparison.Ordinal);
        kubeconfig.Should().Contain(Unreachable);
        await kit.CreateSecretAsync("private-kc-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("private-cluster", "private-kc-input", c =>
        {
            c.Spec.Validation!.Probe = PipelineProbe.None;
            c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD, SecretConsumer.Jenkins];
        }));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("private-cluster", ConditionTypes.Ready, "True", ConditionReasons.ValidationDisabled);
        ready.Status!.Probe.Should().Be("None");
        Condition(ready, ConditionTypes.Validated).Reason.Should().Be(ConditionReasons.ValidationDisabled);
        var secret = await kit.WaitForSecretAsync("private-cluster");
        secret.Metadata.Labels.Should().Contain("argocd.argoproj.io/secret-type", "cluster").And.Contain("jenkins.io/credentials-type", "kubeconfig");
        var data = ClusterTestKit.Decode(secret);
        data["kubeconfig"].Should().Be(kubeconfig);
        data["server"].Should().Be(Unreachable);
        data["name"].Should().Be("passbox-local");
    }

    /// <summary>
    /// A cluster that only a bastion's SOCKS proxy reaches: the check goes through the kubeconfig's proxy-url, and the
    /// Argo CD cluster Secret tells Argo CD the same proxy and the name to check the certificate against, so it reaches
    /// the cluster as the check did.
    /// </summary>
    [Fact]
    public async Task A_kubeconfig_behind_a_proxy_is_checked_through_it_and_Argo_CD_is_given_the_proxy()
    {
        var server = new Uri(ControlPlaneEnv()["KUBE_SERVER"]);
        await using var bastion = new Socks5Proxy((_, port) => (server.Host, port));
        var kubeconfig = (await CiKubeconfigAsync()).Replace(
            $"    server: {ControlPlaneEnv()["KUBE_SERVER"]}\n",
            $"    server: https://api.behind-bastion.invalid:{server.Port}\n    tls-server-name: localhost\n    proxy-url: {bastion.Address}\n",
            StringComparison.Ordinal);
        kubeconfig.Should().Contain("proxy-url");
        await kit.CreateSecretAsync("bastion-kc-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("bastion", "bastion-kc-input", c => c.Spec.Secret!.Consumers = [SecretConsumer.ArgoCD]));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("bastion", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        Condition(ready, ConditionTypes.Validated).Message.Should().Contain($"through proxy {ProbeUrls.Endpoint(bastion.Address)}");
        bastion.Requested.Should().Contain($"api.behind-bastion.invalid:{server.Port}");
        var config = JsonNode.Parse(ClusterTestKit.Decode(await kit.WaitForSecretAsync("bastion"))["config"])!;
        config["proxyUrl"]!.GetValue<string>().Should().Be(bastion.Address.ToString());
        config["tlsClientConfig"]!["serverName"]!.GetValue<string>().Should().Be("localhost");
    }

    /// <summary>
    /// A kubeconfig whose credentials end by themselves (here its client certificate; the API server takes the token
    /// beside it) says when, on the credential: in status.expiresAt, the Expires column, and the Validated message.
    /// </summary>
    [Fact]
    public async Task A_kubeconfig_whose_client_certificate_expires_shows_when_in_the_status()
    {
        var notAfter = new DateTimeOffset(DateTime.UtcNow.Year + 1, 3, 1, 12, 0, 0, TimeSpan.Zero);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = new CertificateRequest("CN=deployer", key, HashAlgorithmName.SHA256).CreateSelfSigned(notAfter.AddYears(-1), notAfter);
        var token = $"token: {ControlPlaneEnv()["CI_TOKEN"]}\n";
        var kubeconfig = (await CiKubeconfigAsync()).Replace(token,
            $"{token}    client-certificate-data: {Base64(certificate.ExportCertificatePem())}\n    client-key-data: {Base64(key.ExportPkcs8PrivateKeyPem())}\n",
            StringComparison.Ordinal);
        kubeconfig.Should().Contain("client-key-data");
        run.MarkSecret(key.ExportPkcs8PrivateKeyPem().Split('\n')[1]);
        await kit.CreateSecretAsync("expiring-kc-input", new Dictionary<string, string> { ["kubeconfig"] = kubeconfig });

        await kit.CreateAsync(KubeconfigCredential("expiring", "expiring-kc-input"));

        var ready = await kit.WaitForConditionAsync<PipelineCredential>("expiring", ConditionTypes.Ready, "True", ConditionReasons.Validated);
        ready.Status!.ExpiresAt.Should().Be(notAfter.UtcDateTime);
        var shown = $"{notAfter.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}";
        Condition(ready, ConditionTypes.Validated).Message.Should().EndWith($"; its client certificate expires at {shown}");
        ShippingTools.Run(ShippingTools.Kubectl, ["--kubeconfig", controlPlane.AdminKubeconfig, "get", "pcred", "expiring", "-n", run.Namespace])
            .Should().Contain(shown, "the Expires column shows it");
    }

    // ---- Publication rules ------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_bad_new_password_after_a_good_one_keeps_the_last_good_Secret()
    {
        await kit.CreateSecretAsync("keep-input", new Dictionary<string, string> { ["password"] = git.Password });
        await kit.CreateAsync(GitCredential("keep", "keep-input", SecretFormat.BasicAuth));
        await kit.WaitForConditionAsync<PipelineCredential>("keep", ConditionTypes.Ready, "True");
        var before = await kit.WaitForSecretAsync("keep");

        const string Typo = "typo-in-the-new-git-password";
        run.MarkSecret(Typo);
        await kit.SetSecretValueAsync("keep-input", "password", Typo);

        var failed = await kit.WaitForConditionAsync<PipelineCredential>("keep", ConditionTypes.Validated, "False", "AuthenticationFailed");
        Condition(failed, ConditionTypes.Ready).Reason.Should().Be("AuthenticationFailed");
        Condition(failed, ConditionTypes.SecretSynced).Message.Should().Contain("keeping Secret keep");
        var after = (await kit.TryGetSecretAsync("keep"))!;
        ClusterTestKit.Decode(after)["password"].Should().Be(git.Password, "workloads keep the last good Secret");
        after.Metadata.ResourceVersion.Should().Be(before.Metadata.ResourceVersion);
    }

    [Fact]
    public async Task Changing_the_format_replaces_the_Secret_with_one_of_the_new_type()
    {
        await kit.CreateSecretAsync("reformat-input", new Dictionary<string, string> { ["password"] = git.Password });
        await kit.CreateAsync(GitCredential("reformat", "reformat-input", SecretFormat.Opaque));
        (await kit.WaitForSecretAsync("reformat")).Type.Should().Be("Opaque");

        await kit.PatchAsync<PipelineCredential>("reformat", new { spec = new { secret = new { format = "BasicAuth" } } });

        var replaced = await kit.WaitForSecretAsync("reformat", s => s.Type == "kubernetes.io/basic-auth");
        ClusterTestKit.Decode(replaced).Should().Contain("username", git.User).And.Contain("password", git.Password);
        await kit.WaitForConditionAsync<PipelineCredential>("reformat", ConditionTypes.SecretSynced, "True");
    }

    /// <summary>
    /// A Secret's type cannot change in place, so a new format means a new Secret. When the API server would refuse the
    /// new one (here a policy makes every basic-auth Secret of the namespace invalid), workloads keep the old one.
    /// </summary>
    [Fact]
    public async Task A_format_change_the_API_server_would_refuse_keeps_the_old_Secret()
    {
        await kit.CreateSecretAsync("held-input", new Dictionary<string, string> { ["password"] = git.Password });
        await kit.CreateAsync(GitCredential("held", "held-input", SecretFormat.Opaque));
        var before = await kit.WaitForSecretAsync("held");
        await using var policy = await SecretAdmission.RefuseBasicAuthAsync(controlPlane.Admin, run.Namespace);

        await kit.PatchAsync<PipelineCredential>("held", new { spec = new { secret = new { format = "BasicAuth" } } });

        var refused = await kit.WaitForConditionAsync<PipelineCredential>("held", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretRejected);
        Condition(refused, ConditionTypes.SecretSynced).Message.Should().Contain(SecretAdmission.RefusedLabel);
        var kept = await kit.TryGetSecretAsync("held");
        kept.Should().NotBeNull("workloads mount it; only a Secret the server accepts may replace it");
        kept!.Metadata.Uid.Should().Be(before.Metadata.Uid, "the Secret workloads mount stays");
        kept.Type.Should().Be("Opaque");
        ClusterTestKit.Decode(kept)["password"].Should().Be(git.Password);
    }

    [Fact]
    public async Task A_Secret_deleted_or_edited_by_hand_is_repaired()
    {
        await kit.CreateSecretAsync("fix-input", new Dictionary<string, string> { ["password"] = git.Password });
        await kit.CreateAsync(GitCredential("fix", "fix-input", SecretFormat.BasicAuth, SecretConsumer.Jenkins));
        var first = await kit.WaitForSecretAsync("fix");

        await controlPlane.Admin.CoreV1.DeleteNamespacedSecretAsync("fix", run.Namespace);
        var recreated = await kit.WaitForSecretAsync("fix", s => s.Metadata.Uid != first.Metadata.Uid && ClusterTestKit.Decode(s).GetValueOrDefault("password") == git.Password);
        recreated.Type.Should().Be("kubernetes.io/basic-auth");
        recreated.Metadata.Labels.Should().Contain("jenkins.io/credentials-type", "usernamePassword");

        await kit.SetSecretValueAsync("fix", "password", "edited-by-hand");
        await kit.WaitForSecretAsync("fix", s => ClusterTestKit.Decode(s)["password"] == git.Password);
        await kit.WaitForConditionAsync<PipelineCredential>("fix", ConditionTypes.Ready, "True");
    }

    /// <summary>
    /// A data key someone else adds to a generated Secret (a person, a mutating policy) is not Passbox's: its apply could
    /// never remove it, so calling it drift would write, log and record an event on every periodic check. It stays, and
    /// nothing is written; an edit of one of Passbox's keys is still repaired.
    /// </summary>
    [Fact]
    public async Task A_data_key_added_to_the_Secret_by_someone_else_is_left_alone_with_nothing_written()
    {
        await kit.CreateSecretAsync("extra-input", new Dictionary<string, string> { ["password"] = git.Password });
        await kit.CreateAsync(GitCredential("extra", "extra-input", SecretFormat.BasicAuth, c => c.Spec.Validation!.Interval = "1s"));
        await kit.WaitForConditionAsync<PipelineCredential>("extra", ConditionTypes.Ready, "True");
        await kit.WaitForSecretAsync("extra");

        await kit.SetSecretValueAsync("extra", "added-by-policy", "kept");
        var added = (await kit.TryGetSecretAsync("extra"))!;
        var credential = (await kit.GetAsync<PipelineCredential>("extra"))!;
        await Task.Delay(TimeSpan.FromSeconds(5)); // a few periodic checks, one a second

        var later = (await kit.TryGetSecretAsync("extra"))!;
        later.Metadata.ResourceVersion.Should().Be(added.Metadata.ResourceVersion, "nothing of Passbox's changed");
        ClusterTestKit.Decode(later)["added-by-policy"].Should().Be("kept");
        (await kit.GetAsync<PipelineCredential>("extra"))!.Metadata.ResourceVersion.Should().Be(credential.Metadata.ResourceVersion, "an idle credential writes nothing");
        (await kit.EventsAsync()).Should().NotContain(e => e.InvolvedObject.Name == "extra" && e.Reason == "SecretUpdated");
        run.Host.LogLines.Should().NotContain(line => line.Contains("Updated generated Secret", StringComparison.Ordinal) && line.Contains("/extra", StringComparison.Ordinal));

        await kit.SetSecretValueAsync("extra", "password", "edited-by-hand");
        var repaired = await kit.WaitForSecretAsync("extra", s => ClusterTestKit.Decode(s)["password"] == git.Password);
        ClusterTestKit.Decode(repaired)["added-by-policy"].Should().Be("kept");
    }

    [Fact]
    public async Task A_foreign_Secret_with_the_same_name_is_left_alone()
    {
        await kit.CreateSecretAsync("taken", new Dictionary<string, string> { ["mine"] = "do not touch" });
        await kit.CreateSecretAsync("own-input", new Dictionary<string, string> { ["password"] = git.Password });

        await kit.CreateAsync(GitCredential("own", "own-input", SecretFormat.BasicAuth, c => c.Spec.Secret!.Name = "taken"));

        var conflict = await kit.WaitForConditionAsync<PipelineCredential>("own", ConditionTypes.SecretSynced, "False", ConditionReasons.SecretConflict);
        Condition(conflict, ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretConflict);
        var foreign = (await kit.TryGetSecretAsync("taken"))!;
        foreign.Type.Should().Be("Opaque");
        ClusterTestKit.Decode(foreign).Should().Equal(new Dictionary<string, string> { ["mine"] = "do not touch" });
        foreign.Metadata.OwnerReferences.Should().BeNullOrEmpty();
    }

    [Fact]
    public async Task Changing_the_consumers_reshapes_the_Secret_without_a_new_check()
    {
        await kit.CreateSecretAsync("shape-input", new Dictionary<string, string> { ["password"] = git.Password });
        await kit.CreateAsync(GitCredential("shape", "shape-input", SecretFormat.BasicAuth, SecretConsumer.Jenkins));
        var first = await kit.WaitForConditionAsync<PipelineCredential>("shape", ConditionTypes.Ready, "True");
        await kit.WaitForSecretAsync("shape", s => s.Metadata.Labels.ContainsKey("jenkins.io/credentials-type"));

        await kit.PatchAsync<PipelineCredential>("shape", new { spec = new { secret = new { consumers = new[] { "Tekton" } } } });

        var reshaped = await kit.WaitForSecretAsync("shape", s => ClusterTestKit.Decode(s).ContainsKey(".git-credentials"));
        await kit.WaitForSecretAsync("shape", s => !s.Metadata.Labels.ContainsKey("jenkins.io/credentials-type"));
        reshaped = (await kit.TryGetSecretAsync("shape"))!;
        reshaped.Metadata.Labels.Keys.Should().NotContain(k => k.StartsWith("jenkins.io/", StringComparison.Ordinal), "Jenkins is no longer a consumer");
        reshaped.Metadata.Annotations.Keys.Should().NotContain(k => k.StartsWith("jenkins.io/", StringComparison.Ordinal));
        reshaped.Metadata.Annotations.Should().ContainKey("tekton.dev/git-0");

        // Back to Jenkins alone: the data is what it was at first, the Tekton keys and annotation go, Jenkins' labels return.
        await kit.PatchAsync<PipelineCredential>("shape", new { spec = new { secret = new { consumers = new[] { "Jenkins" } } } });
        var back = await kit.WaitForSecretAsync("shape", s => !s.Metadata.Annotations.ContainsKey("tekton.dev/git-0") && s.Metadata.Labels.ContainsKey("jenkins.io/credentials-type"));
        ClusterTestKit.Decode(back).Keys.Should().BeEquivalentTo("username", "password");

        // Now drop Jenkins: only labels and annotations change, the data stays the same.
        await kit.PatchAsync<PipelineCredential>("shape", new { spec = new { secret = new { consumers = Array.Empty<string>() } } });
        var plain = await kit.WaitForSecretAsync("shape", s => !s.Metadata.Labels.ContainsKey("jenkins.io/credentials-type"));
        plain.Metadata.Annotations.Keys.Should().NotContain(k => k.StartsWith("jenkins.io/", StringComparison.Ordinal));

        var last = await kit.WaitForConditionAsync<PipelineCredential>("shape", ConditionTypes.Ready, "True");
        last.Status!.LastAttempted.Should().Be(first.Status!.LastAttempted, "reshaping the Secret needs no new login");
    }

    // ---- Schema and kubectl -----------------------------------------------------------------------------------------

    [Fact]
    public async Task A_block_that_does_not_match_the_type_is_rejected_naming_the_field()
    {
        var credential = GitCredential("mixed", "mixed-input", SecretFormat.BasicAuth);
        credential.Spec.SecretText = new SecretTextSource { SecretRef = new SecretKeyReference { Name = "mixed-input", Key = "token" } };

        var rejected = await RejectionAsync(() => kit.CreateAsync(credential));

        rejected.Should().Contain("spec.secretText").And.Contain("secretText is required when type is SecretText and not allowed otherwise");
        (await kit.GetAsync<PipelineCredential>("mixed")).Should().BeNull();
    }

    [Fact]
    public async Task Changing_the_type_is_rejected()
    {
        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = NewToken() });
        await kit.CreateAsync(TokenCredential("retype", "token-input"));

        var resource = ResourceDescriptor.For<PipelineCredential>();
        var patch = new V1Patch(
            """{"spec":{"type":"UsernamePassword","secretText":null,"usernamePassword":{"username":"ci-bot","passwordSecretRef":{"name":"token-input","key":"token"}}}}""",
            V1Patch.PatchType.MergePatch);
        var rejected = await RejectionAsync(() => controlPlane.Admin.CustomObjects.PatchNamespacedCustomObjectAsync(
            patch, resource.Group, resource.Version, run.Namespace, resource.Plural, "retype"));

        rejected.Should().Contain("spec.type").And.Contain("type is immutable");
        (await kit.GetAsync<PipelineCredential>("retype"))!.Spec.Type.Should().Be(PipelineCredentialType.SecretText);
    }

    [Fact]
    public async Task Kubectl_get_pcred_shows_type_ready_reason_expiry_and_age()
    {
        await kit.CreateSecretAsync("col-token", new Dictionary<string, string> { ["token"] = NewToken() });
        const string Wrong = "wrong-column-password-5";
        run.MarkSecret(Wrong);
        await kit.CreateSecretAsync("col-wrong", new Dictionary<string, string> { ["password"] = Wrong });
        await kit.CreateAsync(TokenCredential("col-good", "col-token"));
        await kit.CreateAsync(GitCredential("col-bad", "col-wrong", SecretFormat.BasicAuth));
        await kit.WaitForConditionAsync<PipelineCredential>("col-good", ConditionTypes.Ready, "True");
        await kit.WaitForConditionAsync<PipelineCredential>("col-bad", ConditionTypes.Ready, "False", "AuthenticationFailed");

        var result = ShippingTools.TryRun(ShippingTools.Kubectl, ["--kubeconfig", controlPlane.AdminKubeconfig, "get", "pcred", "-n", run.Namespace]);

        result.ExitCode.Should().Be(0, result.StandardError);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().MatchRegex(@"^NAME\s+TYPE\s+READY\s+REASON\s+USED BY\s+EXPIRES\s+AGE\s*$");
        var rows = lines.Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToDictionary(r => r[0]);
        rows.Keys.Should().BeEquivalentTo("col-good", "col-bad");
        rows["col-good"][1..4].Should().Equal("SecretText", "True", "ValidationDisabled");
        rows["col-bad"][1..4].Should().Equal("UsernamePassword", "False", "AuthenticationFailed");
        foreach (var row in rows.Values)
        {
            row.Should().HaveCount(6, "EXPIRES is blank: neither a token that is not a JWT nor a password has a known end");
            row[4].Should().Be("0");
            row[5].Should().MatchRegex(@"^\d+(s|m\d*s?)$", "AGE is the credential's age");
        }

        var expires = lines[0].IndexOf("EXPIRES", StringComparison.Ordinal);
        var age = lines[0].IndexOf("AGE", expires, StringComparison.Ordinal);
        lines.Skip(1).Select(line => line.Substring(expires, age - expires).Trim()).Should().OnlyContain(cell => cell.Length == 0);
    }

    // ---- Helpers ----------------------------------------------------------------------------------------------------

    private PipelineCredential GitCredential(string name, string sourceSecret, SecretFormat format, params SecretConsumer[] consumers) =>
        GitCredential(name, sourceSecret, format, c => c.Spec.Secret!.Consumers = [.. consumers]);

    private PipelineCredential GitCredential(string name, string sourceSecret, SecretFormat format, Action<PipelineCredential> change) =>
        Credential(name, PipelineCredentialType.UsernamePassword, c =>
        {
            c.Spec.Server = git.RepositoryUrl;
            c.Spec.UsernamePassword = new UsernamePasswordSource
            {
                Username = git.User,
                PasswordSecretRef = new SecretKeyReference { Name = sourceSecret, Key = "password" },
            };
            c.Spec.Validation!.Probe = PipelineProbe.GitHTTP;
            c.Spec.Secret!.Format = format;
            change(c);
        });

    private PipelineCredential RegistryCredential(string name, string sourceSecret, params SecretConsumer[] consumers) =>
        RegistryCredential(name, sourceSecret, c => c.Spec.Secret!.Consumers = [.. consumers]);

    private PipelineCredential RegistryCredential(string name, string sourceSecret, Action<PipelineCredential> change) =>
        Credential(name, PipelineCredentialType.UsernamePassword, c =>
        {
            c.Spec.Server = registry.Url;
            c.Spec.UsernamePassword = new UsernamePasswordSource
            {
                Username = registry.User,
                PasswordSecretRef = new SecretKeyReference { Name = sourceSecret, Key = "password" },
            };
            c.Spec.Validation!.Probe = PipelineProbe.ContainerRegistry;
            c.Spec.Secret!.Format = SecretFormat.DockerConfigJson;
            change(c);
        });

    private static PipelineCredential TokenCredential(string name, string sourceSecret, Action<PipelineCredential>? change = null) =>
        Credential(name, PipelineCredentialType.SecretText, c =>
        {
            c.Spec.SecretText = new SecretTextSource { SecretRef = new SecretKeyReference { Name = sourceSecret, Key = "token" } };
            c.Spec.Validation!.Probe = PipelineProbe.None;
            change?.Invoke(c);
        });

    private static PipelineCredential KubeconfigCredential(string name, string sourceSecret, Action<PipelineCredential>? change = null) =>
        Credential(name, PipelineCredentialType.Kubeconfig, c =>
        {
            c.Spec.Kubeconfig = new KubeconfigSource { SecretRef = new SecretKeyReference { Name = sourceSecret, Key = "kubeconfig" } };
            c.Spec.Validation!.Probe = PipelineProbe.KubernetesAPI;
            change?.Invoke(c);
        });

    private static PipelineCredential Credential(string name, PipelineCredentialType type, Action<PipelineCredential> change)
    {
        var credential = new PipelineCredential
        {
            Metadata = new() { Name = name },
            Spec = new PipelineCredentialSpec
            {
                Type = type,
                Description = "e2e release bot",
                Validation = new PipelineValidationSettings { Interval = "1h", Timeout = "10s" },
                Secret = new PipelineSecretSettings(),
            },
        };
        change(credential);
        return credential;
    }

    private static V1Condition Condition(PipelineCredential credential, string type) =>
        credential.Status!.Conditions!.Single(c => c.Type == type);

    /// <summary>The control plane's env file: KUBE_SERVER, KUBE_CA_FILE, CI_TOKEN and the kubeconfig paths.</summary>
    private Dictionary<string, string> ControlPlaneEnv()
    {
        var directory = controlPlane.Directory
            ?? throw new InvalidOperationException($"the kubeconfig tests need the local control plane's CI user; unset {ControlPlaneFixture.ExistingClusterVariable}");
        return ServiceScript.ReadEnv(Path.Combine(directory, "env"));
    }

    /// <summary>The control plane's kubeconfig of its CI user; with <paramref name="token"/> in place of the real token.</summary>
    private async Task<string> CiKubeconfigAsync(string? token = null)
    {
        var env = ControlPlaneEnv();
        var kubeconfig = await File.ReadAllTextAsync(env["KUBECONFIG_CI"]);
        run.MarkSecret(env["CI_TOKEN"]);
        run.MarkSecret(kubeconfig);
        if (token is null)
        {
            return kubeconfig;
        }

        kubeconfig.Should().Contain($"token: {env["CI_TOKEN"]}");
        return kubeconfig.Replace($"token: {env["CI_TOKEN"]}", $"token: {token}", StringComparison.Ordinal);
    }

    private string NewToken()
    {
        var token = "ghp_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        run.MarkSecret(token);
        return token;
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>The API server's answer when it refuses a request.</summary>
    private static async Task<string> RejectionAsync(Func<Task> request)
    {
        try
        {
            await request();
        }
        catch (HttpOperationException e)
        {
            e.Response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
            return e.Response.Content;
        }

        throw new InvalidOperationException("the API server accepted a request it should have refused");
    }
}
