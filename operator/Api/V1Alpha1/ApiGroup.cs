namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>Names shared by both kinds of the <c>passbox.dev/v1alpha1</c> API.</summary>
public static class ApiGroup
{
    public const string Group = "passbox.dev";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;
    public const string Category = "credentials";

    /// <summary>Finalizer that keeps a credential while something still uses its Secret.</summary>
    public const string InUseFinalizer = "passbox.dev/in-use-protection";

    /// <summary>Annotation on a credential that skips the in-use wait on deletion.</summary>
    public const string ForceDeleteAnnotation = "passbox.dev/force-delete";

    /// <summary>Annotation any object can carry to declare that it uses credentials (comma-separated names).</summary>
    public const string UsesAnnotation = "passbox.dev/uses";

    /// <summary>Label on every generated Secret naming the credential it was generated from.</summary>
    public const string CredentialLabel = "passbox.dev/credential";

    /// <summary>Label on every generated Secret naming the kind of credential it was generated from.</summary>
    public const string CredentialKindLabel = "passbox.dev/kind";

    /// <summary>Annotation on a generated Secret holding the hash of its data, to notice edits by hand.</summary>
    public const string DataHashAnnotation = "passbox.dev/data-hash";

    /// <summary>
    /// Annotation on a generated Secret holding the hash of the labels and annotations Passbox gave it, so that one it
    /// no longer wants (a consumer removed) is noticed even when the data stays the same.
    /// </summary>
    public const string MetadataHashAnnotation = "passbox.dev/metadata-hash";

    /// <summary>
    /// Annotation on a generated Secret whose data changed for new inputs, naming their revision, until the opted-in
    /// workloads have been restarted: written by the same request that changes the data, so the restart stays owed
    /// when the pass ends before its status write.
    /// </summary>
    public const string RestartPendingAnnotation = "passbox.dev/restart-pending";

    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "passbox";
}
