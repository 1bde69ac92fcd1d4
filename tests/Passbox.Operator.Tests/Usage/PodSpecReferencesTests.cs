using k8s.Models;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class PodSpecReferencesTests
{
    [Fact]
    public void A_secret_volume_is_a_reference()
    {
        var spec = Spec(s => s.Volumes.Add(new V1Volume { Name = "conn", Secret = new V1SecretVolumeSource { SecretName = "orders-ob-conn" } }));

        PodSpecReferences.SecretNames(spec).Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_projected_volume_source_is_a_reference()
    {
        var spec = Spec(s => s.Volumes.Add(new V1Volume
        {
            Name = "all-in-one",
            Projected = new V1ProjectedVolumeSource
            {
                Sources =
                [
                    new V1VolumeProjection { ConfigMap = new V1ConfigMapProjection { Name = "settings" } },
                    new V1VolumeProjection { Secret = new V1SecretProjection { Name = "orders-ob-conn" } },
                    new V1VolumeProjection { ServiceAccountToken = new V1ServiceAccountTokenProjection { Path = "token" } },
                ],
            },
        }));

        PodSpecReferences.SecretNames(spec).Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_csi_node_publish_secret_is_a_reference()
    {
        var spec = Spec(s => s.Volumes.Add(new V1Volume
        {
            Name = "store",
            Csi = new V1CSIVolumeSource { Driver = "secrets-store.csi.k8s.io", NodePublishSecretRef = new V1LocalObjectReference { Name = "csi-creds" } },
        }));

        PodSpecReferences.SecretNames(spec).Should().Equal("csi-creds");
    }

    [Fact]
    public void An_in_tree_volume_driver_secret_is_a_reference()
    {
        var spec = Spec(s => s.Volumes.Add(new V1Volume
        {
            Name = "share",
            AzureFile = new V1AzureFileVolumeSource { SecretName = "azure-share", ShareName = "data" },
        }));

        PodSpecReferences.SecretNames(spec).Should().Equal("azure-share");
    }

    [Fact]
    public void An_env_secret_key_ref_is_a_reference()
    {
        PodSpecReferences.SecretNames(SpecUsingEnv("orders-ob-conn")).Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void An_env_from_secret_ref_is_a_reference()
    {
        var spec = Spec(s => s.Containers[0].EnvFrom =
        [
            new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = "settings" } },
            new V1EnvFromSource { Prefix = "DB_", SecretRef = new V1SecretEnvSource { Name = "orders-ob-conn" } },
        ]);

        PodSpecReferences.SecretNames(spec).Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void An_image_pull_secret_is_a_reference()
    {
        var spec = Spec(s => s.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry-bot" }]);

        PodSpecReferences.SecretNames(spec).Should().Equal("registry-bot");
    }

    [Fact]
    public void Init_containers_are_read()
    {
        var spec = Spec(s => s.InitContainers = [new V1Container
        {
            Name = "migrate",
            Image = "registry.example/migrate:1",
            Env = [SecretEnv("DB_URI", "orders-ob-conn", "uri")],
        }]);

        PodSpecReferences.SecretNames(spec).Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void Ephemeral_containers_are_read()
    {
        var spec = Spec(s => s.EphemeralContainers = [new V1EphemeralContainer
        {
            Name = "debugger-x7k2",
            Image = "busybox",
            TargetContainerName = "app",
            EnvFrom = [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = "debug-creds" } }],
        }]);

        PodSpecReferences.SecretNames(spec).Should().Equal("debug-creds");
    }

    [Fact]
    public void Names_are_distinct_and_sorted_across_all_sources()
    {
        var spec = Spec(s =>
        {
            s.Containers[0].Env.Add(SecretEnv("B", "zeta"));
            s.Containers[0].Env.Add(SecretEnv("A", "alpha"));
            s.Volumes.Add(new V1Volume { Name = "z", Secret = new V1SecretVolumeSource { SecretName = "zeta" } });
            s.ImagePullSecrets = [new V1LocalObjectReference { Name = "mid" }];
        });

        PodSpecReferences.SecretNames(spec).Should().Equal("alpha", "mid", "zeta");
    }

    [Fact]
    public void Config_maps_downward_api_and_service_account_are_not_secret_references()
    {
        var spec = Spec(s =>
        {
            s.ServiceAccountName = "orders";
            s.Volumes.Add(new V1Volume { Name = "cfg", ConfigMap = new V1ConfigMapVolumeSource { Name = "settings" } });
            s.Containers[0].Env.Add(new V1EnvVar { Name = "MODE", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Key = "mode", Name = "settings" } } });
        });

        PodSpecReferences.SecretNames(spec).Should().BeEmpty();
    }
}
