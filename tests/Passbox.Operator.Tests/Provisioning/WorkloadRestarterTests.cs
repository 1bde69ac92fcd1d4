using k8s.Models;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Usage;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class WorkloadRestarterTests
{
    private static V1Deployment Deployment(Dictionary<string, string>? annotations, string? secretVolume) => new()
    {
        Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "team", Annotations = annotations },
        Spec = new V1DeploymentSpec
        {
            Selector = new V1LabelSelector(),
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec
                {
                    Containers = [new V1Container { Name = "app" }],
                    Volumes = secretVolume is null ? null : [new V1Volume { Name = "db", Secret = new V1SecretVolumeSource { SecretName = secretVolume } }],
                },
            },
        },
    };

    private static bool OptsIn(V1Deployment deployment, string secret) =>
        WorkloadRestarter.OptsIn(deployment.Metadata, WorkloadReferences.From(deployment), secret);

    [Fact]
    public void A_workload_naming_the_Secret_in_the_reload_annotation_opts_in()
    {
        var deployment = Deployment(new() { [WorkloadRestarter.ReloadAnnotation] = "other, billing-db ,x" }, null);

        OptsIn(deployment, "billing-db").Should().BeTrue();
        OptsIn(deployment, "billing").Should().BeFalse();
    }

    [Fact]
    public void Auto_opts_in_only_for_Secrets_the_pod_template_uses()
    {
        var deployment = Deployment(new() { [WorkloadRestarter.AutoAnnotation] = "true" }, "billing-db");

        OptsIn(deployment, "billing-db").Should().BeTrue();
        OptsIn(deployment, "other").Should().BeFalse();
    }

    [Fact]
    public void Without_an_annotation_nothing_restarts()
    {
        OptsIn(Deployment(null, "billing-db"), "billing-db").Should().BeFalse();
        OptsIn(Deployment(new() { [WorkloadRestarter.AutoAnnotation] = "false" }, "billing-db"), "billing-db").Should().BeFalse();
    }
}
