using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Api;

/// <summary>
/// The generated CRDs on a real API server: every sample is accepted, and every schema and CEL rule rejects a bad
/// object with a message that names the field, so a user running <c>kubectl apply</c> knows what to fix.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class SchemaValidationTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private TestNamespace ns = null!;

    public async Task InitializeAsync() => ns = await controlPlane.CreateNamespaceAsync("schema");

    public async Task DisposeAsync() => await ns.DisposeAsync();

    private const string ValidCluster = """
        apiVersion: passbox.dev/v1alpha1
        kind: ClusterCredential
        metadata: {name: c1}
        spec:
          engine: MySQL
          endpoint: {host: db.example.svc, port: 3306}
          username: app
          passwordSecretRef: {name: in, key: password}
        """;

    private const string ValidPipeline = """
        apiVersion: passbox.dev/v1alpha1
        kind: PipelineCredential
        metadata: {name: p1}
        spec:
          type: UsernamePassword
          server: https://git.example.com/a.git
          usernamePassword: {username: bot, passwordSecretRef: {name: in, key: password}}
        """;

    public static TheoryData<string, string, string, string> RejectedClusterCredentials => new()
    {
        { "engine: MySQL", "engine: Postgres", "spec.engine", "Unsupported value: \"Postgres\"" },
        { "port: 3306", "port: 70000", "spec.endpoint.port", "should be less than or equal to 65535" },
        { "port: 3306", "port: 0", "spec.endpoint.port", "should be greater than or equal to 1" },
        { "  username: app\n", "", "spec.username", "username is required with passwordSecretRef" },
        { "passwordSecretRef: {name: in, key: password}", "passwordSecretRef: {name: in, key: password}\n  apiKeySecretRef: {name: k, key: apiKey}", "spec", "exactly one of passwordSecretRef or apiKeySecretRef must be set" },
        { "engine: MySQL", "engine: OceanBase", "spec.oceanBase", "oceanBase (tenant and optional cluster) is required when engine is OceanBase" },
        { "engine: MySQL", "engine: OceanBase\n  oceanBase: {tenant: orders}", "", "" },
        { "name: in, key: password", "name: In_Valid, key: password", "spec.passwordSecretRef.name", "should match" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: ten minutes}", "spec.validation.interval", "should match" },
        { "port: 3306}", "port: 3306}\n  validation: {timeout: 10m}", "spec.validation.timeout", "timeout must be between 1s and 5m" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: 8761h}", "spec.validation.interval", "interval must be 0 or from 1s to 8760h" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: 300000000h}", "spec.validation.interval", "interval must be 0 or from 1s to 8760h" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: 8760h}", "", "" },
        // Shorter intervals are typos that would log in hundreds of times a second (and retry a wrong password as often).
        { "port: 3306}", "port: 3306}\n  validation: {interval: 500ms}", "spec.validation.interval", "interval must be 0 or from 1s to 8760h" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: 1s}", "", "" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: 0s}", "", "" },
        { "port: 3306}", "port: 3306}\n  validation: {interval: '0'}", "", "" },
        { "port: 3306}", "port: 3306}\n  milvus: {database: search}", "spec.milvus", "milvus is only allowed when engine is Milvus" },
        { "port: 3306}", "port: 3306, tls: {mode: Sometimes}}", "spec.endpoint.tls.mode", "Unsupported value: \"Sometimes\"" },
        // A colon only inside an IPv6 address: the port has a field of its own, and a connector makes no address of the rest.
        { "host: db.example.svc", "host: 'db.example.svc:3306'", "spec.endpoint.host", "put the port in spec.endpoint.port" },
        { "host: db.example.svc", "host: 'mysql://db.example.svc'", "spec.endpoint.host", "spec.endpoint.host must be a host name or an IP address" },
        { "host: db.example.svc", "host: 'db.example.svc]'", "spec.endpoint.host", "spec.endpoint.host must be a host name or an IP address" },
        { "host: db.example.svc", "host: '[fd00::1'", "spec.endpoint.host", "spec.endpoint.host must be a host name or an IP address" },
        { "host: db.example.svc", "host: '[fd00::1]:3306'", "spec.endpoint.host", "put the port in spec.endpoint.port" },
        { "host: db.example.svc", "host: 'fd00::1'", "", "" },
        { "host: db.example.svc", "host: '[fd00::1]'", "", "" },
        { "host: db.example.svc", "host: '::1'", "", "" },
        { "host: db.example.svc", "host: 10.0.0.7", "", "" },
    };

    [Theory]
    [MemberData(nameof(RejectedClusterCredentials))]
    public async Task A_bad_ClusterCredential_is_rejected_with_a_message_naming_the_field(string replace, string with, string field, string message)
    {
        var yaml = ValidCluster.Replace(replace, with, StringComparison.Ordinal);
        if (field.Length == 0)
        {
            // Control case: the same edit made valid is accepted, so the rule is what rejects the other cases.
            await CreateAsync(yaml);
            return;
        }

        (await RejectionAsync(yaml)).Should().ContainSingle(c => c.Field == field && c.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_OceanBase_username_must_be_the_bare_user_name()
    {
        var yaml = ValidCluster
            .Replace("engine: MySQL", "engine: OceanBase\n  oceanBase: {tenant: orders, cluster: ob1}", StringComparison.Ordinal)
            .Replace("username: app", "username: app@orders", StringComparison.Ordinal);

        (await RejectionAsync(yaml)).Should().ContainSingle(c => c.Field == "spec.username" && c.Message.Contains("bare user name for OceanBase", StringComparison.Ordinal));
    }

    private const string Provisioned = "passwordSecretRef: {name: in, key: password}\n  provisioning:\n    adminCredentialRef: {name: root}";

    public static TheoryData<string, string, string> RejectedProvisioning => new()
    {
        // User names Milvus, MySQL and OceanBase all take and that need no quoting: a letter, then letters, digits, _.
        { "username: app", "username: 9lives", "spec.username" },
        { "username: app", "username: app-rw", "spec.username" },
        { "username: app", "username: \"app'; DROP USER root; --\"", "spec.username" },
        { "username: app", "username: a_name_that_is_longer_than_32_chars", "spec.username" },
        // Protected administrators, by exact name (the operator also refuses other spellings).
        { "username: app", "username: root", "spec.username" },
        { "username: app", "username: db_admin", "spec.username" },
        { "username: app", "username: proxyro", "spec.username" },
        { "username: app", "username: sys", "spec.username" },
        { "username: app", "username: ocp_monitor", "spec.username" },
        // In any case, as the operator compares them (and MySQL and OceanBase do): ROOT was accepted, then failed at reconcile.
        { "username: app", "username: ROOT", "spec.username" },
        { "username: app", "username: Db_Admin", "spec.username" },
        { "engine: MySQL", "engine: OceanBase\n  oceanBase: {tenant: sys}", "spec.oceanBase.tenant" },
        { "engine: MySQL", "engine: OceanBase\n  oceanBase: {tenant: SYS}", "spec.oceanBase.tenant" },
        // A generated password has no source Secret to rotate; grants and roles belong to their engines.
        { "adminCredentialRef: {name: root}", "adminCredentialRef: {name: root}\n    rotation: {period: 720h}", "spec.provisioning.rotation" },
        { "adminCredentialRef: {name: root}", "adminCredentialRef: {name: root}\n    rotation: {period: 30s}", "spec.provisioning.rotation.period" },
        { "adminCredentialRef: {name: root}", "adminCredentialRef: {name: root}\n    roles: [{name: reader}]", "spec.provisioning.roles" },
        { "adminCredentialRef: {name: root}", "adminCredentialRef: {name: root}\n    deletionPolicy: Orphan", "spec.provisioning.deletionPolicy" },
        // The user is created and reset as part of a check: without checks it would never exist.
        { "adminCredentialRef: {name: root}", "adminCredentialRef: {name: root}\n  validation: {disabled: true}", "spec.validation.disabled" },
    };

    [Theory]
    [MemberData(nameof(RejectedProvisioning))]
    public async Task A_bad_provisioning_block_is_rejected_with_a_message_naming_the_field(string replace, string with, string field)
    {
        var valid = ValidCluster.Replace("passwordSecretRef: {name: in, key: password}", Provisioned, StringComparison.Ordinal);
        await CreateAsync(valid.Replace("name: c1", "name: control", StringComparison.Ordinal));

        (await RejectionAsync(valid.Replace(replace, with, StringComparison.Ordinal))).Should().Contain(c => c.Field == field);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("Admin")]
    [InlineData("DB_ADMIN")]
    public async Task A_built_in_Milvus_administrator_role_is_rejected_in_any_case(string role)
    {
        var milvus = ValidCluster.Replace("engine: MySQL", "engine: Milvus", StringComparison.Ordinal)
            .Replace("passwordSecretRef: {name: in, key: password}", Provisioned, StringComparison.Ordinal);
        await CreateAsync(milvus.Replace("name: c1", "name: reader", StringComparison.Ordinal)
            .Replace("{name: root}", "{name: root}\n    roles: [{name: public}, {name: administrators}]", StringComparison.Ordinal));

        var causes = await RejectionAsync(milvus.Replace("{name: root}", $"{{name: root}}\n    roles: [{{name: public}}, {{name: {role}}}]", StringComparison.Ordinal));

        causes.Should().ContainSingle(c => c.Field == "spec.provisioning.roles[1].name" && c.Message.Contains("administrator of the cluster", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_provisioned_user_needs_no_password_Secret_but_a_valid_user_name_and_a_rotation_period_of_at_most_ten_years()
    {
        var generated = ValidCluster.Replace("passwordSecretRef: {name: in, key: password}",
            "provisioning: {adminCredentialRef: {name: root}, rotation: {period: 87600h}, passwordPolicy: {length: 40}}", StringComparison.Ordinal);
        await CreateAsync(generated);

        var badName = generated.Replace("name: c1", "name: c2", StringComparison.Ordinal).Replace("username: app", "username: 9lives", StringComparison.Ordinal);
        (await RejectionAsync(badName)).Should().ContainSingle(c => c.Field == "spec.username"
            && c.Message.Contains("must start with a letter and hold only letters, digits and _", StringComparison.Ordinal));
        var root = generated.Replace("name: c1", "name: c3", StringComparison.Ordinal).Replace("username: app", "username: root", StringComparison.Ordinal);
        (await RejectionAsync(root)).Should().ContainSingle(c => c.Field == "spec.username"
            && c.Message.Contains("protected administrator", StringComparison.Ordinal));
        var tooLong = generated.Replace("name: c1", "name: c4", StringComparison.Ordinal).Replace("87600h", "87601h", StringComparison.Ordinal);
        (await RejectionAsync(tooLong)).Should().ContainSingle(c => c.Field == "spec.provisioning.rotation.period"
            && c.Message.Contains("rotation.period must be at most 87600h", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("username: ROOT", "spec.username", "protected administrator")]
    [InlineData("username: Proxyro", "spec.username", "protected administrator")]
    [InlineData("engine: OceanBase\n  oceanBase: {tenant: Sys}", "spec.oceanBase.tenant", "OceanBase's sys tenant")]
    public async Task Protected_administrators_and_the_sys_tenant_are_refused_in_any_case(string with, string field, string message)
    {
        var valid = ValidCluster.Replace("passwordSecretRef: {name: in, key: password}", Provisioned, StringComparison.Ordinal);
        var yaml = valid.Replace(with.StartsWith("engine", StringComparison.Ordinal) ? "engine: MySQL" : "username: app", with, StringComparison.Ordinal);
        yaml.Should().Contain(with);

        var causes = await RejectionAsync(yaml);
        causes.Should().ContainSingle(c => c.Field == field && c.Message.Contains(message, StringComparison.Ordinal), "the API server said {0}", string.Join("; ", causes));

        // Control: the same names in lower case, and an ordinary tenant whose name merely contains sys, as before.
        await CreateAsync(valid.Replace("username: app", "username: app_sys", StringComparison.Ordinal)
            .Replace("engine: MySQL", "engine: OceanBase\n  oceanBase: {tenant: sysops}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ClusterCredential", "validation: {interval: ten minutes}", "spec.validation.interval")]
    [InlineData("ClusterCredential", "validation: {timeout: 5 seconds}", "spec.validation.timeout")]
    [InlineData("ClusterCredential", "provisioning: {adminCredentialRef: {name: root}, rotation: {period: weekly}}", "spec.provisioning.rotation.period")]
    [InlineData("PipelineCredential", "validation: {interval: hourly}", "spec.validation.interval")]
    [InlineData("PipelineCredential", "validation: {timeout: 1.5.5s}", "spec.validation.timeout")]
    public async Task A_value_that_is_no_duration_gets_one_cause_that_shows_the_form_and_no_CEL_type_conversion_error(string kind, string field, string path)
    {
        var yaml = kind == "ClusterCredential"
            ? ValidCluster.Replace("passwordSecretRef: {name: in, key: password}",
                field.StartsWith("provisioning", StringComparison.Ordinal) ? field : "passwordSecretRef: {name: in, key: password}\n  " + field, StringComparison.Ordinal)
            : ValidPipeline + "\n  " + field + "\n";
        yaml.Should().Contain(field);

        var causes = await RejectionAsync(yaml);

        causes.Where(c => c.Field == path).Should().ContainSingle("the API server said {0}", string.Join("; ", causes))
            .Which.Message.Should().Contain("should match").And.Contain("(ms|s|m|h)");
        causes.Should().NotContain(c => c.Message.Contains("type conversion", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_api_key_is_only_for_Milvus()
    {
        var yaml = ValidCluster
            .Replace("  username: app\n", "", StringComparison.Ordinal)
            .Replace("passwordSecretRef: {name: in, key: password}", "apiKeySecretRef: {name: k, key: apiKey}", StringComparison.Ordinal);

        (await RejectionAsync(yaml)).Should().ContainSingle(c => c.Field == "spec.apiKeySecretRef" && c.Message.Contains("only supported for engine Milvus", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string, string> RejectedPipelineCredentials => new()
    {
        { "type: UsernamePassword", "type: SshKey", "spec.type", "Unsupported value: \"SshKey\"" },
        { "usernamePassword: {username: bot, passwordSecretRef: {name: in, key: password}}", "secretText: {secretRef: {name: in, key: token}}", "spec.usernamePassword", "usernamePassword is required when type is UsernamePassword" },
        { "a.git\n", "a.git\n  validation: {probe: KubernetesAPI}\n", "spec.validation.probe", "the KubernetesAPI probe is for type Kubeconfig" },
        { "a.git\n", "a.git\n  secret: {consumers: [Tekton, Tekton2]}\n", "spec.secret.consumers[1]", "Unsupported value: \"Tekton2\"" },
        { "a.git\n", "a.git\n  secret: {format: DockerConfigJson}\n", "", "" },
        { "a.git\n", "a.git\n  secret: {format: BasicAuth}\n", "", "" },
        { "a.git\n", "a.git\n  validation: {interval: 9000h}\n", "spec.validation.interval", "interval must be 0 or from 1s to 8760h" },
        { "a.git\n", "a.git\n  validation: {interval: 10ms}\n", "spec.validation.interval", "interval must be 0 or from 1s to 8760h" },
        { "  server: https://git.example.com/a.git\n", "", "", "" },
    };

    [Theory]
    [MemberData(nameof(RejectedPipelineCredentials))]
    public async Task A_bad_PipelineCredential_is_rejected_with_a_message_naming_the_field(string replace, string with, string field, string message)
    {
        var yaml = ValidPipeline.Replace(replace, with, StringComparison.Ordinal);
        if (field.Length == 0)
        {
            await CreateAsync(yaml);
            return;
        }

        (await RejectionAsync(yaml)).Should().ContainSingle(c => c.Field == field && c.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_git_probe_needs_a_server_and_a_docker_config_needs_a_username_and_password()
    {
        var noServer = ValidPipeline.Replace("  server: https://git.example.com/a.git\n", "", StringComparison.Ordinal) + "\n  validation: {probe: GitHTTP}\n";
        (await RejectionAsync(noServer)).Should().ContainSingle(c => c.Field == "spec.server" && c.Message.Contains("server is required for the GitHTTP", StringComparison.Ordinal));

        var tokenAsDockerConfig = ValidPipeline
            .Replace("type: UsernamePassword", "type: SecretText", StringComparison.Ordinal)
            .Replace("usernamePassword: {username: bot, passwordSecretRef: {name: in, key: password}}", "secretText: {secretRef: {name: in, key: token}}", StringComparison.Ordinal)
            + "\n  secret: {format: DockerConfigJson}\n";
        (await RejectionAsync(tokenAsDockerConfig)).Should().ContainSingle(c => c.Field == "spec.secret.format" && c.Message.Contains("needs type UsernamePassword", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> ServerValues => new()
    {
        // A token in the URL would be published in the Tekton annotation and Argo CD's url.
        { "https://oauth2:glpat-XXXX@gitlab.com/g/r.git", "server must not carry user info" },
        { "robot:glpat-XXXX@registry.example.com", "server must not carry user info" },
        // A port the operator cannot parse used to fail every reconcile.
        { "registry.local:5OOO", "optional port of digits from 1 to 65535" },
        { "https://git.example.com:99999/a.git", "optional port of digits from 1 to 65535" },
        { "https://git..example.com/a.git", "optional port of digits from 1 to 65535" },
        // Control cases: what people write for git servers and registries stays accepted.
        { "registry.example.com:5000", "" },
        { "https://[fd00::1]:8443/team/app.git", "" },
        { "http://10.0.0.7:3000/team/app.git?ref=main", "" },
        { "https://github.com/team/app.git#user@example", "" },
    };

    [Theory]
    [MemberData(nameof(ServerValues))]
    public async Task A_server_with_user_info_or_a_port_that_is_no_number_is_rejected_naming_spec_server(string server, string message)
    {
        var yaml = ValidPipeline.Replace("https://git.example.com/a.git", server, StringComparison.Ordinal);
        if (message.Length == 0)
        {
            await CreateAsync(yaml);
            return;
        }

        var causes = await RejectionAsync(yaml);
        causes.Should().HaveCount(1, "one mistake gets one message: {0}", string.Join("; ", causes))
            .And.Contain(c => c.Field == "spec.server" && c.Message.Contains(message, StringComparison.Ordinal));
        causes.Should().NotContain(c => c.Message.Contains("glpat-XXXX", StringComparison.Ordinal), "the refusal must not echo the token");
    }

    private const string UsernamePasswordSpec = "type: UsernamePassword\n  server: https://git.example.com/a.git\n  usernamePassword: {username: bot, passwordSecretRef: {name: in, key: password}}";

    public static TheoryData<string, string, string> ArgoCDSecretTypes => new()
    {
        // A kubeconfig has no username and password for a repository Secret: building it failed on every reconcile.
        { "type: Kubeconfig\n  kubeconfig: {secretRef: {name: in, key: kubeconfig}}\n  secret: {consumers: [ArgoCD], argoCD: {secretType: Repository}}", "spec.secret.argoCD.secretType", "Cluster is for type Kubeconfig" },
        { "type: Kubeconfig\n  kubeconfig: {secretRef: {name: in, key: kubeconfig}}\n  secret: {consumers: [ArgoCD], argoCD: {secretType: RepoCreds}}", "spec.secret.argoCD.secretType", "Cluster is for type Kubeconfig" },
        // A password or token has no server and config for a cluster Secret.
        { UsernamePasswordSpec + "\n  secret: {consumers: [ArgoCD], argoCD: {secretType: Cluster}}", "spec.secret.argoCD.secretType", "Cluster is for type Kubeconfig" },
        // A repository Secret without url matches nothing, whether its type is written or the default.
        { "type: SecretText\n  secretText: {secretRef: {name: in, key: token}}\n  secret: {consumers: [ArgoCD], argoCD: {secretType: Repository}}", "spec.server", "server (the repository URL) is required" },
        { "type: SecretText\n  secretText: {secretRef: {name: in, key: token}}\n  secret: {consumers: [ArgoCD]}", "spec.server", "server (the repository URL) is required" },
        // An Argo CD cluster name belongs to a cluster Secret, and Argo CD shows it: no leading or trailing white space.
        { UsernamePasswordSpec + "\n  secret: {consumers: [ArgoCD], argoCD: {clusterName: prod-eu}}", "spec.secret.argoCD.clusterName", "is for type Kubeconfig" },
        { "type: Kubeconfig\n  kubeconfig: {secretRef: {name: in, key: kubeconfig}}\n  secret: {consumers: [ArgoCD], argoCD: {clusterName: ' prod-eu'}}", "spec.secret.argoCD.clusterName", "should match" },
        // Control cases.
        { "type: Kubeconfig\n  kubeconfig: {secretRef: {name: in, key: kubeconfig}}\n  secret: {consumers: [ArgoCD], argoCD: {secretType: Cluster}}", "", "" },
        { "type: Kubeconfig\n  kubeconfig: {secretRef: {name: in, key: kubeconfig}}\n  secret: {consumers: [ArgoCD], argoCD: {clusterName: prod eu-west}}", "", "" },
        { UsernamePasswordSpec + "\n  secret: {consumers: [ArgoCD], argoCD: {secretType: Repository}}", "", "" },
        { "type: SecretText\n  secretText: {secretRef: {name: in, key: token}}\n  secret: {consumers: [Jenkins]}", "", "" },
    };

    [Theory]
    [MemberData(nameof(ArgoCDSecretTypes))]
    public Task An_Argo_CD_secret_type_must_fit_the_credential_type_and_a_repository_needs_a_server(string spec, string field, string message) =>
        AcceptedOrRefusedOnceAsync(spec, field, message);

    /// <summary>A PipelineCredential with <paramref name="spec"/>: accepted when no field is named, else refused with exactly one cause, on that field.</summary>
    private async Task AcceptedOrRefusedOnceAsync(string spec, string field, string message)
    {
        var yaml = ValidPipeline.Replace(UsernamePasswordSpec, spec, StringComparison.Ordinal);
        yaml.Should().Contain(spec);
        if (field.Length == 0)
        {
            await CreateAsync(yaml);
            return;
        }

        var causes = await RejectionAsync(yaml);
        causes.Should().HaveCount(1, "one mistake gets one message: {0}", string.Join("; ", causes))
            .And.Contain(c => c.Field == field && c.Message.Contains(message, StringComparison.Ordinal));
    }

    private const string KubeconfigSpec = "type: Kubeconfig\n  kubeconfig: {secretRef: {name: in, key: kubeconfig}}";

    public static TheoryData<string, string, string> ProbesAndConsumers => new()
    {
        // A kubeconfig for a cluster the operator cannot reach is published unchecked: probe None was refused.
        { KubeconfigSpec + "\n  validation: {probe: None}", "", "" },
        { KubeconfigSpec + "\n  validation: {probe: KubernetesAPI}", "", "" },
        { KubeconfigSpec + "\n  server: https://git.example.com/a.git\n  validation: {probe: GitHTTP}", "spec.validation.probe", "type Kubeconfig is checked with KubernetesAPI or None" },
        { KubeconfigSpec + "\n  server: registry.example.com\n  validation: {probe: ContainerRegistry}", "spec.validation.probe", "type Kubeconfig is checked with KubernetesAPI or None" },
        { UsernamePasswordSpec + "\n  validation: {probe: None}", "", "" },
        // Tekton finds a Secret by an annotation naming the server: without a server it got none and ignored the Secret.
        { "type: UsernamePassword\n  usernamePassword: {username: bot, passwordSecretRef: {name: in, key: password}}\n  secret: {consumers: [Tekton]}", "spec.server", "required when the Secret is for Tekton" },
        { "type: SecretText\n  secretText: {secretRef: {name: in, key: token}}\n  secret: {consumers: [Jenkins, Tekton]}", "spec.server", "required when the Secret is for Tekton" },
        { UsernamePasswordSpec + "\n  secret: {consumers: [Tekton]}", "", "" },
        { "type: SecretText\n  secretText: {secretRef: {name: in, key: token}}\n  secret: {consumers: [Jenkins]}", "", "" },
        // Tekton has no annotation for a cluster, with or without a server: the kubeconfig key is what a task mounts.
        { KubeconfigSpec + "\n  secret: {consumers: [Tekton, Jenkins]}", "", "" },
    };

    public static TheoryData<string, string, string> ServerTls => new()
    {
        // The CA of a git server or registry; a kubeconfig names its cluster's CA itself (certificate-authority-data).
        { UsernamePasswordSpec + "\n  tls: {caSecretRef: {name: corp-ca, key: ca.crt}}", "", "" },
        { "type: SecretText\n  server: registry.example.com\n  secretText: {secretRef: {name: in, key: token}}\n  tls: {caSecretRef: {name: corp-ca, key: ca.crt}}", "", "" },
        { KubeconfigSpec + "\n  tls: {caSecretRef: {name: corp-ca, key: ca.crt}}", "spec.tls", "a Kubeconfig gives its cluster's CA as certificate-authority-data" },
    };

    [Theory]
    [MemberData(nameof(ServerTls))]
    public Task Spec_tls_names_the_CA_of_a_git_server_or_registry_and_is_not_for_a_kubeconfig(string spec, string field, string message) =>
        AcceptedOrRefusedOnceAsync(spec, field, message);

    [Theory]
    [MemberData(nameof(ProbesAndConsumers))]
    public Task A_probe_must_fit_the_type_and_a_Secret_for_Tekton_needs_a_server(string spec, string field, string message) =>
        AcceptedOrRefusedOnceAsync(spec, field, message);

    public static TheoryData<string, string, string> SecretLabelsAndAnnotations => new()
    {
        // The API server refused the generated Secret on every reconcile; now kubectl apply says which field.
        { "labels: {'bad key': x}", "spec.secret.labels", "label keys must be an optional DNS subdomain prefix" },
        { "labels: {-team: x}", "spec.secret.labels", "label keys must be" },
        { "labels: {Example.com/team: x}", "spec.secret.labels", "label keys must be" },
        { "labels: {example.com/: x}", "spec.secret.labels", "label keys must be" },
        { $"labels: {{{new string('n', 64)}: x}}", "spec.secret.labels", "label keys must be" },
        { $"labels: {{{new string('p', 254)}/team: x}}", "spec.secret.labels", "label keys must be" },
        { "labels: {team: 'pay ments'}", "spec.secret.labels.team", "should match" },
        { "labels: {team: -payments}", "spec.secret.labels.team", "should match" },
        { $"labels: {{team: {new string('v', 64)}}}", "spec.secret.labels.team", "may not be more than 63" },
        { "annotations: {'note!': x}", "spec.secret.annotations", "annotation keys must be" },
        // Control cases: what people write stays accepted, and annotation values are free text.
        { $"labels: {{team: payments, example.com/tier: A.b_c-1, {new string('p', 253)}/{new string('n', 63)}: {new string('v', 63)}, empty: ''}}", "", "" },
        { "annotations: {example.com/note: 'anything at all: / ! {} and more than 63 characters of text, which is fine for an annotation'}", "", "" },
    };

    [Theory]
    [MemberData(nameof(SecretLabelsAndAnnotations))]
    public async Task Labels_and_annotations_of_the_Secret_must_be_what_Kubernetes_accepts(string secret, string field, string message)
    {
        foreach (var (valid, name) in new[] { (ValidPipeline, "p1"), (ValidCluster, "c1") })
        {
            var yaml = $"{valid.TrimEnd()}\n  secret: {{{secret}}}\n";
            if (field.Length == 0)
            {
                await CreateAsync(yaml);
                continue;
            }

            var causes = await RejectionAsync(yaml);
            causes.Should().ContainSingle(c => c.Field == field && c.Message.Contains(message, StringComparison.Ordinal),
                "{0}: the API server said {1}", name, string.Join("; ", causes));
        }
    }

    [Theory]
    [InlineData(ValidCluster, "name: c1")]
    [InlineData(ValidPipeline, "name: p1")]
    public async Task A_name_longer_than_a_label_value_can_hold_is_rejected_saying_why(string valid, string name)
    {
        // 63 characters is the most a label value holds, and the generated Secret carries the name in a label.
        var longest = new string('a', 63);
        await CreateAsync(valid.Replace(name, $"name: {longest}", StringComparison.Ordinal));

        var tooLong = valid.Replace(name, $"name: {longest}b", StringComparison.Ordinal);
        // A rule on the root cannot point at metadata.name (fieldPath must be in the schema), so the API server reports
        // the field as <nil> and the message names it.
        var causes = await RejectionAsync(tooLong);
        causes.Should().ContainSingle(c => c.Field == "<nil>"
            && c.Message.Contains("metadata.name must be at most 63 characters", StringComparison.Ordinal)
            && c.Message.Contains("label", StringComparison.Ordinal), "the API server said {0}", string.Join("; ", causes));
    }

    [Fact]
    public async Task Engine_and_type_are_immutable()
    {
        await CreateAsync(ValidCluster);
        (await PatchRejectionAsync("clustercredentials", "c1", """{"spec":{"engine":"Milvus"}}"""))
            .Should().ContainSingle(c => c.Field == "spec.engine" && c.Message.Contains("engine is immutable", StringComparison.Ordinal));

        await CreateAsync(ValidPipeline);
        (await PatchRejectionAsync("pipelinecredentials", "p1", """{"spec":{"type":"SecretText","usernamePassword":null,"secretText":{"secretRef":{"name":"in","key":"t"}}}}"""))
            .Should().Contain(c => c.Field == "spec.type" && c.Message.Contains("type is immutable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_user_name_of_a_provisioned_user_cannot_change()
    {
        await CreateAsync(ValidCluster.Replace("passwordSecretRef: {name: in, key: password}", Provisioned, StringComparison.Ordinal));

        (await PatchRejectionAsync("clustercredentials", "c1", """{"spec":{"username":"app2"}}"""))
            .Should().ContainSingle(c => c.Field == "spec.username" && c.Message.Contains("username cannot change while provisioning is set", StringComparison.Ordinal));
        await Patch("clustercredentials", "c1", """{"spec":{"description":"grants and the rest may change","provisioning":{"grants":[{"database":"orders","privileges":["SELECT"]}]}}}""");
    }

    [Fact]
    public async Task A_port_put_into_the_host_by_an_edit_is_refused_and_other_edits_still_pass()
    {
        await CreateAsync(ValidCluster);

        (await PatchRejectionAsync("clustercredentials", "c1", """{"spec":{"endpoint":{"host":"db.example.svc:3306"}}}"""))
            .Should().ContainSingle(c => c.Field == "spec.endpoint.host" && c.Message.Contains("put the port in spec.endpoint.port", StringComparison.Ordinal));
        await Patch("clustercredentials", "c1", """{"spec":{"description":"the host rule looks only at a changed host"}}""");
    }

    [Fact]
    public async Task The_user_name_of_a_login_Passbox_does_not_manage_can_change()
    {
        await CreateAsync(ValidCluster);

        await Patch("clustercredentials", "c1", """{"spec":{"username":"app2"}}""");
    }

    [Fact]
    public async Task Description_and_password_reference_can_be_changed()
    {
        await CreateAsync(ValidCluster);

        await Patch("clustercredentials", "c1", """{"spec":{"description":"reporting","passwordSecretRef":{"name":"other","key":"pw"}}}""");
    }

    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(FindRoot(), "config", "samples"), "*credential*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Every_sample_is_accepted(string file)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(FindRoot(), "config", "samples", file));
        var documents = text.Split("\n---", StringSplitOptions.RemoveEmptyEntries);
        documents.Should().NotBeEmpty();
        foreach (var document in documents)
        {
            await CreateAsync(document);
        }
    }

    /// <summary>The causes of a 422, as kubectl shows them: the field and the message.</summary>
    private async Task<IReadOnlyList<(string Field, string Message)>> RejectionAsync(string yaml)
    {
        var attempt = () => CreateAsync(yaml);
        var error = await attempt.Should().ThrowAsync<HttpOperationException>();
        return Causes(error.Which);
    }

    private async Task<IReadOnlyList<(string Field, string Message)>> PatchRejectionAsync(string plural, string name, string patch)
    {
        var attempt = () => Patch(plural, name, patch);
        var error = await attempt.Should().ThrowAsync<HttpOperationException>();
        return Causes(error.Which);
    }

    private static List<(string Field, string Message)> Causes(HttpOperationException error)
    {
        error.Response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, error.Response.Content);
        var status = JsonNode.Parse(error.Response.Content)!;
        return status["details"]!["causes"]!.AsArray()
            .Select(c => (c!["field"]?.GetValue<string>() ?? "", c["message"]?.GetValue<string>() ?? ""))
            .ToList();
    }

    private Task<object> Patch(string plural, string name, string patch) =>
        controlPlane.Admin.CustomObjects.PatchNamespacedCustomObjectAsync(
            new k8s.Models.V1Patch(patch, k8s.Models.V1Patch.PatchType.MergePatch), "passbox.dev", "v1alpha1", ns.Name, plural, name);

    private async Task CreateAsync(string yaml)
    {
        var body = JsonNode.Parse(KubernetesJson.Serialize(KubernetesYaml.Deserialize<object>(yaml)))!;
        var plural = body["kind"]!.GetValue<string>() == "ClusterCredential" ? "clustercredentials" : "pipelinecredentials";
        await controlPlane.Admin.CustomObjects.CreateNamespacedCustomObjectAsync(body, "passbox.dev", "v1alpha1", ns.Name, plural);
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Passbox.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Passbox.slnx) not found");
    }
}
