using k8s.Models;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class WorkloadReferencesTests
{
    private static V1ObjectMeta TemplateMeta => new() { Labels = new Dictionary<string, string> { ["app"] = "orders" } };

    [Fact]
    public void A_deployment_template_uses_its_secrets()
    {
        var references = WorkloadReferences.From(Deployment("orders-api", SpecUsingEnv("orders-ob-conn")));

        references.Kind.Should().Be("Deployment");
        references.SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_deployment_scaled_to_zero_still_counts()
    {
        var deployment = Deployment("orders-api", SpecUsingEnv("orders-ob-conn"));
        deployment.Spec.Replicas = 0;

        WorkloadReferences.From(deployment).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_stateful_set_template_uses_its_secrets()
    {
        var statefulSet = new V1StatefulSet
        {
            Metadata = Meta("ledger"),
            Spec = new V1StatefulSetSpec
            {
                ServiceName = "ledger",
                Replicas = 3,
                Selector = new V1LabelSelector { MatchLabels = TemplateMeta.Labels },
                Template = Template(Spec(s => s.Volumes.Add(new V1Volume { Name = "conn", Secret = new V1SecretVolumeSource { SecretName = "ledger-conn" } }))),
            },
        };

        WorkloadReferences.From(statefulSet).Should().Match<ObjectReferences>(r => r.Kind == "StatefulSet" && r.SecretNames.SequenceEqual(new[] { "ledger-conn" }));
    }

    [Fact]
    public void A_daemon_set_template_uses_its_secrets()
    {
        var daemonSet = new V1DaemonSet
        {
            Metadata = Meta("log-shipper"),
            Spec = new V1DaemonSetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = TemplateMeta.Labels },
                Template = Template(Spec(s => s.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry-bot" }])),
            },
        };

        WorkloadReferences.From(daemonSet).Should().Match<ObjectReferences>(r => r.Kind == "DaemonSet" && r.SecretNames.SequenceEqual(new[] { "registry-bot" }));
    }

    [Fact]
    public void A_standalone_replica_set_uses_its_secrets_even_at_zero_replicas()
    {
        var replicaSet = ReplicaSet("batch-workers", 0, owner: null);

        WorkloadReferences.From(replicaSet).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void The_current_replica_set_of_a_deployment_uses_its_secrets()
    {
        WorkloadReferences.From(ReplicaSet("orders-api-5c8d7b", 2, owner: "orders-api")).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void An_old_revision_replica_set_of_a_deployment_uses_nothing()
    {
        WorkloadReferences.From(ReplicaSet("orders-api-6f9b4c", 0, owner: "orders-api")).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void An_old_revision_replica_set_of_an_argo_rollout_uses_nothing_and_its_current_one_counts()
    {
        WorkloadReferences.From(ReplicaSet("orders-api-6f9b4c", 0, owner: "orders-api", ownerKind: ("argoproj.io/v1alpha1", "Rollout"))).IsEmpty.Should().BeTrue();
        WorkloadReferences.From(ReplicaSet("orders-api-5c8d7b", 2, owner: "orders-api", ownerKind: ("argoproj.io/v1alpha1", "Rollout")))
            .SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_replica_set_at_zero_controlled_by_another_groups_rollout_kind_still_counts()
    {
        WorkloadReferences.From(ReplicaSet("orders-api-6f9b4c", 0, owner: "orders-api", ownerKind: ("example.com/v1", "Rollout")))
            .SecretNames.Should().Equal(["orders-ob-conn"], "only Argo Rollouts keep old revisions the way Deployments do");
    }

    [Fact]
    public void A_running_job_uses_its_secrets()
    {
        var job = Job("migrate-42");
        job.Status = new V1JobStatus { Active = 1 };

        WorkloadReferences.From(job).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_suspended_job_uses_its_secrets()
    {
        var job = Job("migrate-42");
        job.Spec.Suspend = true;
        job.Status = new V1JobStatus { Conditions = [new V1JobCondition { Status = "True", Type = "Suspended" }] };

        WorkloadReferences.From(job).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Theory]
    [InlineData("Complete")]
    [InlineData("Failed")]
    public void A_finished_job_uses_nothing(string condition)
    {
        var job = Job("migrate-42");
        job.Status = new V1JobStatus { Conditions = [new V1JobCondition { Status = "True", Type = condition }] };

        WorkloadReferences.From(job).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_job_whose_failure_condition_is_false_still_counts()
    {
        var job = Job("migrate-42");
        job.Status = new V1JobStatus { Conditions = [new V1JobCondition { Status = "False", Type = "Failed" }] };

        WorkloadReferences.From(job).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_cron_job_uses_the_secrets_of_its_job_template()
    {
        var references = WorkloadReferences.From(CronJob("nightly-report"));

        references.Kind.Should().Be("CronJob");
        references.SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_cron_job_with_no_running_pod_blocks()
    {
        var index = new UsageIndex();
        var cronJob = CronJob("nightly-report");
        cronJob.Status = new V1CronJobStatus { Active = [] };

        index.Upsert(WorkloadReferences.From(cronJob));

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(new UsageUser("CronJob", "nightly-report"));
    }

    [Fact]
    public void Any_other_kind_with_a_pod_template_can_be_read()
    {
        var references = WorkloadReferences.FromPodTemplate("ReplicationController", Meta("legacy"), Template(SpecUsingEnv("orders-ob-conn")));

        references.Kind.Should().Be("ReplicationController");
        references.SecretNames.Should().Equal("orders-ob-conn");
    }

    private static V1ReplicaSet ReplicaSet(string name, int replicas, string? owner, (string ApiVersion, string Kind)? ownerKind = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = Ns,
            OwnerReferences = owner is null
                ? null
                : [new V1OwnerReference { ApiVersion = ownerKind?.ApiVersion ?? "apps/v1", Kind = ownerKind?.Kind ?? "Deployment", Name = owner, Uid = "uid-" + owner, BlockOwnerDeletion = true, Controller = true }],
        },
        Spec = new V1ReplicaSetSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = TemplateMeta.Labels },
            Template = Template(SpecUsingEnv("orders-ob-conn")),
        },
    };

    private static V1Job Job(string name) => new()
    {
        Metadata = Meta(name),
        Spec = new V1JobSpec
        {
            BackoffLimit = 3,
            Template = Template(Spec(s =>
            {
                s.RestartPolicy = "Never";
                s.Containers[0].Env.Add(SecretEnv("DB_PASSWORD", "orders-ob-conn"));
            })),
        },
    };

    private static V1CronJob CronJob(string name) => new()
    {
        Metadata = Meta(name),
        Spec = new V1CronJobSpec
        {
            Schedule = "0 3 * * *",
            JobTemplate = new V1JobTemplateSpec { Spec = Job(name).Spec },
        },
    };
}
