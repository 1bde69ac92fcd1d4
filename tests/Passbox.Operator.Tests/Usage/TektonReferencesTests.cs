using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class TektonReferencesTests
{
    private const string RunningStatus = """
        {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}], "startTime": "2026-11-25T10:00:00Z"}
        """;

    private static JsonNode Run(string kind, string apiVersion, string name, string spec, string status = RunningStatus) =>
        JsonNode.Parse($$"""
            {
              "apiVersion": "{{apiVersion}}",
              "kind": "{{kind}}",
              "metadata": {"name": "{{name}}", "namespace": "{{Ns}}", "labels": {"tekton.dev/pipeline": "release"} },
              "spec": {{spec}},
              "status": {{status}}
            }
            """)!;

    private static JsonNode PipelineRun(string spec, string status = RunningStatus) => Run("PipelineRun", "tekton.dev/v1", "release-run-x8k2p", spec, status);

    private static JsonNode TaskRun(string spec, string status = RunningStatus) => Run("TaskRun", "tekton.dev/v1", "clone-run-7f3k", spec, status);

    [Fact]
    public void A_pipeline_run_workspace_bound_to_a_secret_is_a_reference()
    {
        var run = PipelineRun("""
            {
              "pipelineRef": {"name": "release"},
              "taskRunTemplate": {"serviceAccountName": "pipeline"},
              "workspaces": [
                {"name": "source", "volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}},
                {"name": "basic-auth", "secret": {"secretName": "github-bot"}}
              ]
            }
            """);

        var references = TektonReferences.FromPipelineRun(run);

        references.Kind.Should().Be("PipelineRun");
        references.Name.Should().Be("release-run-x8k2p");
        references.SecretNames.Should().Equal("github-bot");
    }

    [Fact]
    public void A_task_run_workspace_bound_to_a_secret_is_a_reference()
    {
        var run = TaskRun("""
            {"taskRef": {"name": "git-clone"}, "workspaces": [{"name": "basic-auth", "secret": {"secretName": "github-bot"}}]}
            """);

        var references = TektonReferences.FromTaskRun(run);

        references.Kind.Should().Be("TaskRun");
        references.SecretNames.Should().Equal("github-bot");
    }

    [Fact]
    public void A_workspace_with_a_projected_secret_is_a_reference()
    {
        var run = TaskRun("""
            {"taskRef": {"name": "deploy"}, "workspaces": [{"name": "creds", "projected": {"sources": [{"secret": {"name": "deploy-kubeconfig"}}]}}]}
            """);

        TektonReferences.FromTaskRun(run).SecretNames.Should().Equal("deploy-kubeconfig");
    }

    [Fact]
    public void A_v1_pipeline_run_uses_the_service_account_of_its_task_run_template()
    {
        var run = PipelineRun("""
            {"pipelineRef": {"name": "release"}, "taskRunTemplate": {"serviceAccountName": "pipeline"}}
            """);

        TektonReferences.FromPipelineRun(run).ServiceAccountNames.Should().Equal("pipeline");
    }

    [Fact]
    public void A_v1beta1_pipeline_run_uses_its_service_account_name()
    {
        var run = Run("PipelineRun", "tekton.dev/v1beta1", "old-run", """
            {"pipelineRef": {"name": "release"}, "serviceAccountName": "pipeline", "podTemplate": {"imagePullSecrets": [{"name": "registry-bot"}]}}
            """);

        var references = TektonReferences.FromPipelineRun(run);

        references.ServiceAccountNames.Should().Equal("pipeline");
        references.SecretNames.Should().Equal("registry-bot");
    }

    [Fact]
    public void A_task_run_uses_its_service_account_name()
    {
        var run = TaskRun("""{"taskRef": {"name": "git-clone"}, "serviceAccountName": "pipeline"}""");

        TektonReferences.FromTaskRun(run).ServiceAccountNames.Should().Equal("pipeline");
    }

    [Fact]
    public void A_run_without_a_service_account_runs_as_default()
    {
        var run = TaskRun("""{"taskRef": {"name": "git-clone"}}""");

        TektonReferences.FromTaskRun(run).ServiceAccountNames.Should().Equal("default");
    }

    [Fact]
    public void Per_task_service_accounts_are_used_too()
    {
        var run = PipelineRun("""
            {
              "pipelineRef": {"name": "release"},
              "taskRunTemplate": {"serviceAccountName": "pipeline"},
              "taskRunSpecs": [{"pipelineTaskName": "push", "serviceAccountName": "pusher", "podTemplate": {"imagePullSecrets": [{"name": "push-registry"}]}}]
            }
            """);

        var references = TektonReferences.FromPipelineRun(run);

        references.ServiceAccountNames.Should().Equal("pipeline", "pusher");
        references.SecretNames.Should().Equal("push-registry");
    }

    [Fact]
    public void Image_pull_secrets_of_the_pod_template_are_references()
    {
        var pipelineRun = PipelineRun("""
            {"pipelineRef": {"name": "release"}, "taskRunTemplate": {"podTemplate": {"imagePullSecrets": [{"name": "registry-bot"}]}}}
            """);
        var taskRun = TaskRun("""
            {"taskRef": {"name": "build"}, "podTemplate": {"imagePullSecrets": [{"name": "registry-bot"}]}}
            """);

        TektonReferences.FromPipelineRun(pipelineRun).SecretNames.Should().Equal("registry-bot");
        TektonReferences.FromTaskRun(taskRun).SecretNames.Should().Equal("registry-bot");
    }

    [Fact]
    public void Env_of_the_pod_template_is_read()
    {
        // Tekton sets a pod template's env in every step and sidecar of the run's Pods.
        var pipelineRun = PipelineRun("""
            {
              "pipelineRef": {"name": "release"},
              "taskRunTemplate": {"podTemplate": {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "orders-ob-conn", "key": "password"}}}]}},
              "taskRunSpecs": [{"pipelineTaskName": "push", "podTemplate": {"env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "push-token", "key": "token"}}}]}}]
            }
            """);
        var taskRun = TaskRun("""
            {"taskRef": {"name": "migrate"}, "podTemplate": {"env": [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "orders-ob-conn", "key": "password"}}}]}}
            """);

        TektonReferences.FromPipelineRun(pipelineRun).SecretNames.Should().Equal("orders-ob-conn", "push-token");
        TektonReferences.FromTaskRun(taskRun).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void Pipelines_embedded_in_pipeline_tasks_are_read()
    {
        // Pipelines in Pipelines: the child PipelineRun starts only when its task's turn comes.
        var status = """
            {
              "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
              "pipelineSpec": {
                "tasks": [
                  {"name": "build", "taskRef": {"name": "build"}},
                  {"name": "deploy", "runAfter": ["build"], "pipelineSpec": {"tasks": [
                    {"name": "migrate", "taskSpec": {"steps": [{"name": "m", "image": "migrate:1", "envFrom": [{"secretRef": {"name": "orders-ob-conn"}}]}]}},
                    {"name": "verify", "pipelineSpec": {"finally": [{"name": "notify", "taskSpec": {"steps": [], "volumes": [{"name": "hook", "secret": {"secretName": "chat-hook"}}]}}]}}
                  ]}}
                ]
              }
            }
            """;
        var run = PipelineRun("""{"pipelineRef": {"name": "release"}}""", status);

        TektonReferences.FromPipelineRun(run).SecretNames.Should().Equal("chat-hook", "orders-ob-conn");
    }

    [Fact]
    public void A_secret_a_pipeline_task_names_through_parameters_is_the_parameter_value()
    {
        // A task that has not started has no TaskRun yet: only the pipeline names its Secret, through parameters.
        var status = """
            {
              "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
              "pipelineSpec": {
                "params": [{"name": "db-secret", "type": "string"}, {"name": "hook", "type": "string", "default": "chat-hook"}],
                "tasks": [
                  {"name": "migrate", "params": [{"name": "secret", "value": "$(params.db-secret)"}],
                   "taskSpec": {"params": [{"name": "secret"}, {"name": "ca", "default": "db-ca"}], "steps": [{"name": "m", "image": "migrate:1",
                     "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "$(params.secret)", "key": "password"}}}],
                     "envFrom": [{"secretRef": {"name": "$(params['ca'])"}}]}]}},
                  {"name": "notify", "taskSpec": {"steps": [], "volumes": [{"name": "hook", "secret": {"secretName": "$(params.hook)"}}]}}
                ]
              }
            }
            """;
        var run = PipelineRun("""{"pipelineRef": {"name": "release"}, "params": [{"name": "db-secret", "value": "orders-ob-conn"}]}""", status);

        TektonReferences.FromPipelineRun(run).SecretNames.Should().Equal("chat-hook", "db-ca", "orders-ob-conn");
    }

    [Fact]
    public void A_secret_a_task_run_names_through_a_parameter_is_the_parameter_value()
    {
        var status = """
            {
              "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Pending"}],
              "taskSpec": {"params": [{"name": "token-secret", "default": "ci-token"}],
                "steps": [{"name": "s", "image": "gh:1", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "$(params.token-secret)", "key": "token"}}}]}]}
            }
            """;
        var run = TaskRun("""{"taskRef": {"name": "github-set-status"}, "params": [{"name": "token-secret", "value": "github-bot"}]}""", status);

        TektonReferences.FromTaskRun(run).SecretNames.Should().Equal("github-bot");
    }

    [Fact]
    public void Env_of_an_embedded_task_spec_is_read()
    {
        var run = TaskRun("""
            {
              "taskSpec": {
                "steps": [{"name": "migrate", "image": "migrate:1", "env": [{"name": "DB_URI", "valueFrom": {"secretKeyRef": {"name": "orders-ob-conn", "key": "uri"}}}]}],
                "sidecars": [{"name": "proxy", "image": "proxy:1", "envFrom": [{"secretRef": {"name": "proxy-creds"}}]}]
              }
            }
            """);

        TektonReferences.FromTaskRun(run).SecretNames.Should().Equal("orders-ob-conn", "proxy-creds");
    }

    [Fact]
    public void Env_of_an_embedded_pipeline_spec_is_read()
    {
        var run = PipelineRun("""
            {
              "pipelineSpec": {
                "tasks": [{"name": "smoke", "taskSpec": {"steps": [{"name": "s", "image": "i", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "smoke-token", "key": "token"}}}]}]}}],
                "finally": [{"name": "notify", "taskSpec": {"volumes": [{"name": "hook", "secret": {"secretName": "slack-hook"}}], "steps": []}}]
              }
            }
            """);

        TektonReferences.FromPipelineRun(run).SecretNames.Should().Equal("slack-hook", "smoke-token");
    }

    [Fact]
    public void The_task_spec_resolved_into_a_task_run_status_is_read()
    {
        var status = """
            {
              "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
              "podName": "clone-run-7f3k-pod",
              "taskSpec": {
                "steps": [{"name": "clone", "image": "git:1", "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "resolved-token", "key": "token"}}}]}],
                "sidecars": [{"name": "proxy", "image": "proxy:1", "envFrom": [{"secretRef": {"name": "resolved-proxy"}}]}],
                "stepTemplate": {"envFrom": [{"secretRef": {"name": "resolved-template"}}]},
                "volumes": [{"name": "ca", "projected": {"sources": [{"secret": {"name": "resolved-ca"}}]}}, {"name": "key", "secret": {"secretName": "resolved-key"}}]
              }
            }
            """;
        var run = TaskRun("""{"taskRef": {"name": "git-clone"}}""", status);

        TektonReferences.FromTaskRun(run).SecretNames.Should().Equal(
            "resolved-ca", "resolved-key", "resolved-proxy", "resolved-template", "resolved-token");
    }

    [Fact]
    public void The_pipeline_spec_resolved_into_a_pipeline_run_status_is_read()
    {
        var status = """
            {
              "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
              "pipelineSpec": {
                "tasks": [
                  {"name": "build", "taskRef": {"name": "build"}},
                  {"name": "scan", "taskSpec": {"steps": [{"name": "s", "image": "i", "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "scanner-key", "key": "k"}}}]}]}}
                ],
                "finally": [{"name": "notify", "taskSpec": {"steps": [], "volumes": [{"name": "hook", "secret": {"secretName": "chat-hook"}}]}}]
              },
              "childReferences": [{"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "name": "release-run-x8k2p-build", "pipelineTaskName": "build"}]
            }
            """;
        var run = PipelineRun("""{"pipelineRef": {"name": "release"}}""", status);

        TektonReferences.FromPipelineRun(run).SecretNames.Should().Equal("chat-hook", "scanner-key");
    }

    [Theory]
    [InlineData("True", "Succeeded")]
    [InlineData("False", "Failed")]
    [InlineData("False", "Cancelled")]
    public void A_finished_run_uses_nothing(string status, string reason)
    {
        var finished = $$"""{"conditions": [{"type": "Succeeded", "status": "{{status}}", "reason": "{{reason}}"}]}""";
        var spec = """{"taskRef": {"name": "git-clone"}, "serviceAccountName": "pipeline", "workspaces": [{"name": "a", "secret": {"secretName": "github-bot"}}]}""";

        TektonReferences.FromTaskRun(TaskRun(spec, finished)).IsEmpty.Should().BeTrue();
        TektonReferences.FromPipelineRun(PipelineRun(spec, finished)).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_pending_run_without_status_counts()
    {
        var run = PipelineRun("""{"status": "PipelineRunPending", "workspaces": [{"name": "a", "secret": {"secretName": "github-bot"}}]}""", "{}");

        TektonReferences.FromPipelineRun(run).SecretNames.Should().Equal("github-bot");
    }

    [Fact]
    public void A_secret_listed_by_the_service_account_of_a_running_run_is_used_by_the_run()
    {
        var index = new UsageIndex();
        index.Upsert(ServiceAccountReferences.From(new k8s.Models.V1ServiceAccount
        {
            Metadata = Meta("pipeline"),
            Secrets = [new k8s.Models.V1ObjectReference { Name = "github-bot" }],
        }));

        index.Upsert(TektonReferences.FromPipelineRun(PipelineRun("""{"pipelineRef": {"name": "release"}, "taskRunTemplate": {"serviceAccountName": "pipeline"}}""")));

        index.UsersOfSecret(Ns, "github-bot").Should().Equal(
            new UsageUser("PipelineRun", "release-run-x8k2p"),
            new UsageUser("ServiceAccount", "pipeline"));
    }

    [Fact]
    public void Fields_of_an_unexpected_shape_are_ignored()
    {
        var run = TaskRun("""{"workspaces": {"not": "an array"}, "serviceAccountName": 42, "podTemplate": {"imagePullSecrets": ["registry-bot"]}}""");

        var references = TektonReferences.FromTaskRun(run);

        references.SecretNames.Should().BeEmpty();
        references.ServiceAccountNames.Should().Equal("default");
    }
}
