using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class ArgoWorkflowReferencesTests
{
    private static JsonNode Workflow(string spec, string phase = "Running") => JsonNode.Parse($$"""
        {
          "apiVersion": "argoproj.io/v1alpha1",
          "kind": "Workflow",
          "metadata": {"name": "etl-q8z4m", "generateName": "etl-", "namespace": "{{Ns}}"},
          "spec": {{spec}},
          "status": {"phase": "{{phase}}", "startedAt": "2026-11-25T10:00:00Z"}
        }
        """)!;

    [Fact]
    public void A_workflow_secret_volume_is_a_reference()
    {
        var workflow = Workflow("""
            {"entrypoint": "main", "volumes": [{"name": "conn", "secret": {"secretName": "orders-ob-conn"}}], "templates": [{"name": "main", "container": {"image": "etl:1"}}]}
            """);

        var references = ArgoWorkflowReferences.From(workflow);

        references.Kind.Should().Be("Workflow");
        references.Name.Should().Be("etl-q8z4m");
        references.SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_template_container_env_secret_key_ref_is_a_reference()
    {
        var workflow = Workflow("""
            {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "etl:1", "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "orders-ob-conn", "key": "password"}}}]}}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_template_script_env_from_is_a_reference()
    {
        var workflow = Workflow("""
            {"entrypoint": "main", "templates": [
              {"name": "main", "steps": [[{"name": "load", "template": "load"}]]},
              {"name": "load", "script": {"image": "python:3", "source": "print(1)", "envFrom": [{"secretRef": {"name": "warehouse-creds"}}]}}
            ]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("warehouse-creds");
    }

    [Fact]
    public void Sidecars_init_containers_and_container_sets_are_read()
    {
        var workflow = Workflow("""
            {"templates": [
              {"name": "a", "container": {"image": "x"}, "sidecars": [{"name": "s", "image": "y", "envFrom": [{"secretRef": {"name": "sidecar-creds"}}]}],
               "initContainers": [{"name": "i", "image": "z", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "init-token", "key": "t"}}}]}]},
              {"name": "b", "containerSet": {"containers": [{"name": "c", "image": "w", "envFrom": [{"secretRef": {"name": "set-creds"}}]}]}}
            ]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("init-token", "set-creds", "sidecar-creds");
    }

    [Fact]
    public void A_workflow_pod_spec_patch_in_json_is_read()
    {
        var workflow = Workflow("""
            {"entrypoint": "main",
             "podSpecPatch": "{\"volumes\": [{\"name\": \"conn\", \"secret\": {\"secretName\": \"orders-ob-conn\"}}], \"imagePullSecrets\": [{\"name\": \"registry-bot\"}]}",
             "templates": [{"name": "main", "container": {"image": "etl:1"}}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("orders-ob-conn", "registry-bot");
    }

    [Fact]
    public void A_template_pod_spec_patch_in_yaml_is_read_with_its_expressions()
    {
        // Unquoted, the expressions Argo substitutes before parsing are not valid YAML.
        const string Patch = """
            containers:
              - name: main
                resources:
                  limits:
                    memory: {{inputs.parameters.memory}}
                env:
                  - name: DB_PASSWORD
                    valueFrom:
                      secretKeyRef: {name: orders-ob-conn, key: password}
            initContainers:
              - name: init
                envFrom:
                  - secretRef:
                      name: init-creds
            """;
        var workflow = Workflow($$"""
            {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "etl:1"}, "podSpecPatch": {{JsonValue.Create(Patch).ToJsonString()}}}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("init-creds", "orders-ob-conn");
    }

    [Fact]
    public void A_pod_spec_patch_without_secrets_adds_nothing()
    {
        var workflow = Workflow("""
            {"templates": [{"name": "main", "container": {"image": "etl:1"}, "podSpecPatch": "{\"containers\": [{\"name\": \"main\", \"resources\": {\"limits\": {\"cpu\": \"{{inputs.parameters.cpu}}\"}}}]}"}]}
            """);

        ArgoWorkflowReferences.From(workflow).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_json_pod_spec_patch_with_a_repeated_key_is_still_read()
    {
        // Kubernetes' JSON reading takes the last of repeated keys; a patch like this one must not stop the watch.
        var workflow = Workflow("""
            {"templates": [{"name": "main", "container": {"image": "etl:1"}, "podSpecPatch": "{\"volumes\": [], \"volumes\": [{\"name\": \"conn\", \"secret\": {\"secretName\": \"orders-ob-conn\"}}]}"}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_deeply_nested_pod_spec_patch_is_not_followed_down()
    {
        // Anyone who may create a Workflow writes this string; it must not overflow the operator's stack.
        var patch = "volumes: " + new string('[', 200_000) + "orders-ob-conn" + new string(']', 200_000);
        var workflow = Workflow($$"""
            {"templates": [{"name": "main", "container": {"image": "etl:1"}, "podSpecPatch": {{JsonValue.Create(patch).ToJsonString()}}}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Contain("orders-ob-conn");
    }

    [Fact]
    public void A_pod_spec_patch_that_cannot_be_read_keeps_every_name_in_it_in_use()
    {
        // Neither JSON nor a YAML mapping: what it mounts cannot be told, so no Secret it names may go.
        var workflow = Workflow("""
            {"templates": [{"name": "main", "container": {"image": "etl:1"}, "podSpecPatch": "volumes: [{name: conn, secret: {secretName: orders-ob-conn}}"}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Contain("orders-ob-conn");
    }

    [Fact]
    public void A_secret_named_by_a_workflow_parameter_is_the_parameter_value()
    {
        // The next step's Pod does not exist yet between steps: only its template names the Secret.
        var workflow = Workflow("""
            {"entrypoint": "main",
             "arguments": {"parameters": [{"name": "db-secret", "value": "orders-ob-conn"}, {"name": "sa", "value": "etl-runner"}]},
             "serviceAccountName": "{{workflow.parameters.sa}}",
             "templates": [
               {"name": "main", "steps": [[{"name": "load", "template": "load"}]]},
               {"name": "load", "container": {"image": "etl:1", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "{{ workflow.parameters.db-secret }}", "key": "password"}}}]},
                "podSpecPatch": "volumes: [{name: hook, secret: {secretName: {{workflow.parameters.hook}}-hook}}]"}
             ]}
            """);
        workflow["status"]!["storedWorkflowTemplateSpec"] = JsonNode.Parse("""{"arguments": {"parameters": [{"name": "hook", "default": "chat"}, {"name": "sa", "value": "overridden"}]}}""");

        var references = ArgoWorkflowReferences.From(workflow);

        references.SecretNames.Should().Equal("chat-hook", "orders-ob-conn");
        references.ServiceAccountNames.Should().Equal("etl-runner");
    }

    [Fact]
    public void Workflow_image_pull_secrets_are_references()
    {
        var workflow = Workflow("""{"imagePullSecrets": [{"name": "registry-bot"}], "templates": []}""");

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("registry-bot");
    }

    [Fact]
    public void A_workflow_uses_its_service_account()
    {
        var workflow = Workflow("""{"serviceAccountName": "argo-etl", "templates": [{"name": "t", "serviceAccountName": "argo-loader"}]}""");

        ArgoWorkflowReferences.From(workflow).ServiceAccountNames.Should().Equal("argo-etl", "argo-loader");
    }

    [Fact]
    public void A_git_input_artifact_names_its_secrets()
    {
        // Next to it: a raw artifact (no Secret), a ConfigMap-backed repository ref and fields of odd shapes, which add nothing.
        var workflow = Workflow("""
            {"entrypoint": "main", "artifactRepositoryRef": {"configMap": "artifact-repositories", "key": "default"},
             "templates": [{"name": "main", "container": {"image": "build:1"}, "inputs": {"artifacts": [
              {"name": "source", "path": "/src", "git": {"repo": "https://git.example/app.git",
                "usernameSecret": {"name": "git-user", "key": "username"},
                "passwordSecret": {"name": "git-token", "key": "password"},
                "sshPrivateKeySecret": {"name": "git-ssh", "key": "id_ed25519"}}},
              {"name": "script", "path": "/s", "raw": {"data": "echo"}},
              {"name": "odd", "s3": {"accessKeySecret": "not-an-object"}, "gcs": ["not-an-object"]},
              "not-an-artifact"
            ]}, "outputs": {"artifacts": {"not": "a list"}}, "steps": [{"not": "a group"}]}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("git-ssh", "git-token", "git-user");
    }

    [Fact]
    public void Output_artifacts_and_the_archive_location_name_their_storage_secrets()
    {
        var workflow = Workflow("""
            {"templates": [{"name": "main", "container": {"image": "etl:1"},
              "archiveLocation": {"azure": {"endpoint": "https://acct.blob.core.windows.net", "container": "logs", "accountKeySecret": {"name": "azure-key", "key": "k"}}},
              "outputs": {"artifacts": [
                {"name": "report", "path": "/out", "s3": {"bucket": "reports", "key": "r.tgz",
                  "accessKeySecret": {"name": "s3-access", "key": "a"}, "secretKeySecret": {"name": "s3-secret", "key": "s"},
                  "sessionTokenSecret": {"name": "s3-session", "key": "t"}, "caSecret": {"name": "s3-ca", "key": "ca.crt"},
                  "encryptionOptions": {"enableEncryption": true, "serverSideCustomerKeySecret": {"name": "s3-sse-c", "key": "k"}}}},
                {"name": "copy", "path": "/out", "oss": {"bucket": "b", "key": "k", "accessKeySecret": {"name": "oss-access", "key": "a"}, "secretKeySecret": {"name": "oss-secret", "key": "s"}}},
                {"name": "gcs", "path": "/out", "gcs": {"bucket": "b", "key": "k", "serviceAccountKeySecret": {"name": "gcs-sa", "key": "json"}}},
                {"name": "hdfs", "path": "/out", "hdfs": {"addresses": ["nn:8020"], "path": "/p", "krbKeytabSecret": {"name": "hdfs-keytab", "key": "k"}, "krbCCacheSecret": {"name": "hdfs-ccache", "key": "c"}}},
                {"name": "jfrog", "path": "/out", "artifactory": {"url": "https://jfrog.example/x", "usernameSecret": {"name": "jfrog-user", "key": "u"}, "passwordSecret": {"name": "jfrog-pass", "key": "p"}}}
              ]}}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal(
            "azure-key", "gcs-sa", "hdfs-ccache", "hdfs-keytab", "jfrog-pass", "jfrog-user", "oss-access", "oss-secret",
            "s3-access", "s3-ca", "s3-secret", "s3-session", "s3-sse-c");
    }

    [Fact]
    public void Workflow_arguments_and_step_and_task_arguments_name_http_artifact_secrets()
    {
        var workflow = Workflow("""
            {"arguments": {"artifacts": [{"name": "seed", "http": {"url": "https://files.example/seed", "auth": {"basicAuth": {
                "usernameSecret": {"name": "files-user", "key": "u"}, "passwordSecret": {"name": "files-pass", "key": "p"}}}}}]},
             "templates": [
               {"name": "main", "steps": [[{"name": "fetch", "template": "fetch", "arguments": {"artifacts": [{"name": "in",
                 "http": {"url": "https://api.example/x", "auth": {"oauth2": {"clientIDSecret": {"name": "oauth-id", "key": "id"},
                   "clientSecretSecret": {"name": "oauth-secret", "key": "s"}, "tokenURLSecret": {"name": "oauth-url", "key": "url"}}}}}]}}]]},
               {"name": "graph", "dag": {"tasks": [{"name": "t", "template": "fetch", "arguments": {"artifacts": [{"name": "in",
                 "http": {"url": "https://mtls.example/x", "auth": {"clientCert": {"clientCertSecret": {"name": "mtls-cert", "key": "crt"}, "clientKeySecret": {"name": "mtls-key", "key": "key"}}}}}]}}]}},
               {"name": "fetch", "inputs": {"artifacts": [{"name": "in", "path": "/in"}]}, "container": {"image": "x"}}
             ]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal(
            "files-pass", "files-user", "mtls-cert", "mtls-key", "oauth-id", "oauth-secret", "oauth-url");
    }

    [Fact]
    public void Inline_templates_template_defaults_and_http_template_headers_are_read()
    {
        var workflow = Workflow("""
            {"templateDefaults": {"container": {"envFrom": [{"secretRef": {"name": "defaults-env"}}]}},
             "templates": [
               {"name": "main", "dag": {"tasks": [{"name": "t", "inline": {"container": {"image": "x"},
                 "inputs": {"artifacts": [{"name": "src", "path": "/src", "git": {"repo": "r", "passwordSecret": {"name": "inline-git", "key": "p"}}}]}}}]}},
               {"name": "call", "http": {"url": "https://api.example", "headers": [
                 {"name": "Authorization", "valueFrom": {"secretKeyRef": {"name": "api-token", "key": "token"}}},
                 {"name": "Accept", "value": "application/json"}]}}
             ]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("api-token", "defaults-env", "inline-git");
    }

    [Fact]
    public void The_spec_stored_from_a_workflow_template_is_read()
    {
        var workflow = JsonNode.Parse($$$$"""
            {
              "apiVersion": "argoproj.io/v1alpha1",
              "kind": "Workflow",
              "metadata": {"name": "nightly-7d2kq", "namespace": "{{{{Ns}}}}"},
              "spec": {"workflowTemplateRef": {"name": "nightly"}},
              "status": {
                "phase": "Running",
                "storedWorkflowTemplateSpec": {"entrypoint": "main", "serviceAccountName": "nightly", "templates": [{"name": "main", "container": {"image": "x"},
                  "inputs": {"artifacts": [{"name": "src", "path": "/src", "git": {"repo": "r", "usernameSecret": {"name": "stored-git", "key": "u"}}}]}}]},
                "storedTemplates": {"namespaced/shared/load": {"name": "load", "container": {"image": "y", "env": [
                  {"name": "T", "valueFrom": {"secretKeyRef": {"name": "stored-template-env", "key": "t"}}}]}}}
              }
            }
            """)!;

        var references = ArgoWorkflowReferences.From(workflow);

        references.SecretNames.Should().Equal("stored-git", "stored-template-env");
        references.ServiceAccountNames.Should().Equal("nightly");
    }

    [Theory]
    [InlineData("Succeeded")]
    [InlineData("Failed")]
    [InlineData("Error")]
    public void A_finished_workflow_uses_nothing(string phase)
    {
        var workflow = Workflow("""{"serviceAccountName": "argo-etl", "volumes": [{"name": "conn", "secret": {"secretName": "orders-ob-conn"}}]}""", phase);

        ArgoWorkflowReferences.From(workflow).IsEmpty.Should().BeTrue();
    }

    [Theory]
    [InlineData("Pending")]
    [InlineData("Running")]
    [InlineData("")]
    public void A_workflow_that_has_not_finished_counts(string phase)
    {
        var workflow = Workflow("""{"volumes": [{"name": "conn", "secret": {"secretName": "orders-ob-conn"}}]}""", phase);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("orders-ob-conn");
    }
}
