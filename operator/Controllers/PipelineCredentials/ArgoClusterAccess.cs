using k8s.KubeConfigModels;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>
/// Reads what an Argo CD cluster Secret needs from a kubeconfig's context: inline data only. Files named inside the
/// kubeconfig are never read and plugins never run (the KubernetesAPI probe refuses such kubeconfigs outright).
/// </summary>
public static class ArgoClusterAccess
{
    /// <summary>
    /// The context's server and inline credentials, or null with <paramref name="problem"/> saying what is missing (names
    /// only, never content).
    /// </summary>
    public static ClusterAccess? Read(string kubeconfig, string? contextName, out string? problem)
    {
        K8SConfiguration? config;
        try
        {
            config = Kubeconfigs.Parse(kubeconfig);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException or ArgumentException)
        {
            config = null;
        }

        problem = Problem(config, contextName);
        if (problem is not null)
        {
            return null;
        }

        var name = (contextName ?? config!.CurrentContext)!;
        var context = config!.Contexts.First(c => c.Name == name).ContextDetails;
        var cluster = config.Clusters.First(c => c.Name == context.Cluster).ClusterEndpoint;
        var user = config.Users.First(u => u.Name == context.User).UserCredentials;
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

    private static string? Problem(K8SConfiguration? config, string? contextName)
    {
        if (config is null)
        {
            return "it is not a kubeconfig that can be parsed";
        }

        var name = contextName ?? config.CurrentContext;
        if (string.IsNullOrEmpty(name))
        {
            return "it sets no current-context and spec.kubeconfig.context is not set";
        }

        var context = config.Contexts?.FirstOrDefault(c => c.Name == name)?.ContextDetails;
        if (context is null)
        {
            return $"it has no context {name}";
        }

        if (config.Clusters?.FirstOrDefault(c => c.Name == context.Cluster)?.ClusterEndpoint?.Server is not { Length: > 0 })
        {
            return $"context {name} names no cluster with a server";
        }

        return config.Users?.FirstOrDefault(u => u.Name == context.User)?.UserCredentials is null
            ? $"context {name} names no user"
            : null;
    }
}
