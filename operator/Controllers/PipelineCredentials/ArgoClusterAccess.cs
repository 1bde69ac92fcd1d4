using k8s.KubeConfigModels;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>
/// Reads what an Argo CD cluster Secret needs from a kubeconfig's context: inline data only. Files named inside the
/// kubeconfig are never read and plugins never run (the KubernetesAPI probe refuses such kubeconfigs outright).
/// </summary>
public static class ArgoClusterAccess
{
    public static ClusterAccess? Read(string kubeconfig, string? contextName)
    {
        K8SConfiguration? config;
        try
        {
            config = Kubeconfigs.Parse(kubeconfig);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException or ArgumentException)
        {
            return null;
        }

        if (config is null)
        {
            return null;
        }

        var name = contextName ?? config.CurrentContext;
        var context = config.Contexts?.FirstOrDefault(c => c.Name == name)?.ContextDetails;
        var cluster = config.Clusters?.FirstOrDefault(c => c.Name == context?.Cluster)?.ClusterEndpoint;
        var user = config.Users?.FirstOrDefault(u => u.Name == context?.User)?.UserCredentials;
        if (name is null || cluster?.Server is null || user is null)
        {
            return null;
        }

        return new ClusterAccess(
            name,
            cluster.Server,
            cluster.CertificateAuthorityData,
            user.ClientCertificateData,
            user.ClientKeyData,
            user.Token,
            user.UserName,
            user.Password,
            cluster.SkipTlsVerify);
    }
}
