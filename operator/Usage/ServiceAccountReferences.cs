using k8s.Models;

namespace Passbox.Operator.Usage;

/// <summary>
/// What a ServiceAccount uses: the Secrets in <c>secrets</c> (mounted tokens, and the Secrets Tekton's credential
/// initialisation reads) and in <c>imagePullSecrets</c>. Objects that run as the ServiceAccount, such as Tekton runs,
/// use these Secrets through it.
/// </summary>
public static class ServiceAccountReferences
{
    public static ObjectReferences From(V1ServiceAccount serviceAccount)
    {
        ArgumentNullException.ThrowIfNull(serviceAccount);
        var (ns, name) = ObjectMetadata.Identity(serviceAccount.Metadata);
        var collector = new ReferenceCollector();
        foreach (var secret in serviceAccount.Secrets ?? [])
        {
            // A reference to another namespace is not a use of a Secret here (Kubernetes ignores it anyway).
            if (string.IsNullOrEmpty(secret?.NamespaceProperty) || string.Equals(secret.NamespaceProperty, ns, StringComparison.Ordinal))
            {
                collector.AddSecret(secret?.Name);
            }
        }

        foreach (var pullSecret in serviceAccount.ImagePullSecrets ?? [])
        {
            collector.AddSecret(pullSecret?.Name);
        }

        UsesAnnotation.Collect(serviceAccount.Metadata?.Annotations, collector);
        return collector.Build(UsageKinds.ServiceAccount, ns, name);
    }
}
