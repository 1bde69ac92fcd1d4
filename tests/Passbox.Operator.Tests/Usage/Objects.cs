using k8s.Models;

namespace Passbox.Operator.Tests.Usage;

/// <summary>Realistic Kubernetes objects for the reference tracker's tests.</summary>
internal static class Objects
{
    public const string Ns = "team-a";

    public static V1ObjectMeta Meta(string name, string ns = Ns, IDictionary<string, string>? annotations = null) =>
        new() { Name = name, NamespaceProperty = ns, Uid = Guid.NewGuid().ToString(), Annotations = annotations };

    public static V1Container App(string name = "app") => new()
    {
        Name = name,
        Image = "registry.example/app:1.4.2",
        Ports = [new V1ContainerPort { ContainerPort = 8080 }],
        Env = [new V1EnvVar { Name = "LOG_LEVEL", Value = "info" }],
    };

    public static V1PodSpec Spec(Action<V1PodSpec>? change = null)
    {
        var spec = new V1PodSpec
        {
            Containers = [App()],
            ServiceAccountName = "default",
            Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() }],
        };
        change?.Invoke(spec);
        return spec;
    }

    public static V1PodSpec SpecUsingEnv(string secretName) => Spec(s => s.Containers[0].Env.Add(SecretEnv("DB_PASSWORD", secretName)));

    public static V1EnvVar SecretEnv(string variable, string secretName, string key = "password") =>
        new() { Name = variable, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Key = key, Name = secretName } } };

    public static V1Pod Pod(string name, V1PodSpec spec, string phase = "Running", string ns = Ns) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = Meta(name, ns),
        Spec = spec,
        Status = new V1PodStatus { Phase = phase },
    };

    public static V1PodTemplateSpec Template(V1PodSpec spec) => new()
    {
        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "orders" } },
        Spec = spec,
    };

    public static V1Deployment Deployment(string name, V1PodSpec spec, string ns = Ns) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = Meta(name, ns),
        Spec = new V1DeploymentSpec
        {
            Replicas = 2,
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "orders" } },
            Template = Template(spec),
        },
    };
}
