using k8s.KubeConfigModels;
using Passbox.Operator.Connectors.Pipeline;
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
        KubeconfigDocument? document;
        try
        {
            document = Kubeconfigs.Read(kubeconfig);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException or ArgumentException or InvalidCastException or FormatException)
        {
            document = null;
        }

        var config = document?.Config;

        // The check's own reading first: it names what is wrong as the KubernetesAPI probe does (the contexts there are
        // when none is current, the user or cluster a context misses), then what only a cluster Secret cannot express.
        problem = UnusableCredentials(kubeconfig, contextName) ?? Problem(config, contextName);
        if (problem is not null)
        {
            return null;
        }

        var name = (contextName ?? config!.CurrentContext)!;
        var context = config!.Contexts.First(c => c.Name == name).ContextDetails;
        var cluster = config.Clusters.First(c => c.Name == context.Cluster).ClusterEndpoint;
        var proxyUrl = document!.ProxyUrl(context.Cluster);
        var user = config.Users.First(u => u.Name == context.User).UserCredentials;
        return new ClusterAccess(
            name,
            cluster.Server,
            cluster.CertificateAuthorityData,
            user.ClientCertificateData,
            user.ClientKeyData,
            // The check sent the token trimmed, as the one line an Authorization header holds; Argo CD sends it as given,
            // and a line break left in (token: "…\n", a block scalar) makes every request fail before it leaves. A token
            // with nothing to trim to (token: "" beside a client certificate) stays as earlier releases wrote it: dropped,
            // it rewrote working cluster Secrets on upgrade, and Argo CD rebuilds a cluster's cache on each change.
            string.IsNullOrWhiteSpace(user.Token) ? user.Token : user.Token.Trim(),
            user.UserName,
            user.Password,
            cluster.SkipTlsVerify,
            string.IsNullOrWhiteSpace(cluster.TlsServerName) ? null : cluster.TlsServerName,
            string.IsNullOrWhiteSpace(proxyUrl) ? null : proxyUrl.Trim());
    }

    /// <summary>
    /// Why the context's credentials cannot go into a cluster Secret, by the rules of the KubernetesAPI check: an exec or
    /// auth-provider plugin (Passbox carries no command from a kubeconfig anywhere), a file named inside (Argo CD's pods do
    /// not have it either), or no credentials at all. With probe None nothing else reads the kubeconfig, and such a
    /// cluster Secret was published as Ready while Argo CD could only connect as nobody.
    /// </summary>
    private static string? UnusableCredentials(string kubeconfig, string? contextName)
    {
        var read = KubeconfigReader.Read(kubeconfig, contextName);
        read.Target?.Dispose();
        return read.Failure?.Message;
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

        var user = config.Users?.FirstOrDefault(u => u.Name == context.User)?.UserCredentials;
        if (user is null)
        {
            return $"context {name} names no user";
        }

        // Argo CD's cluster config has no impersonation: its controller would act as the user itself, with rights the
        // probe (which impersonates, as kubectl does) never checked.
        return string.IsNullOrWhiteSpace(user.Impersonate) && !(user.ImpersonateGroups?.Any() ?? false)
            ? null
            : $"user {context.User} impersonates (as / as-groups), which an Argo CD cluster Secret cannot express (Argo CD would act as " +
              "that user itself, with rights the check never saw)";
    }
}
