namespace Passbox.Operator.Usage;

/// <summary>
/// Kinds of objects the reference tracker understands. The index keys objects by these strings. An object that uses a
/// ServiceAccount uses, through it, every Secret the ServiceAccount lists; one that runs a definition by name uses what
/// the definition names (<see cref="IsDefinition"/>).
/// </summary>
public static class UsageKinds
{
    public const string Pod = "Pod";
    public const string Deployment = "Deployment";
    public const string StatefulSet = "StatefulSet";
    public const string DaemonSet = "DaemonSet";
    public const string ReplicaSet = "ReplicaSet";
    public const string Job = "Job";
    public const string CronJob = "CronJob";
    public const string ServiceAccount = "ServiceAccount";
    public const string PipelineRun = "PipelineRun";
    public const string TaskRun = "TaskRun";
    public const string Workflow = "Workflow";
    public const string CronWorkflow = "CronWorkflow";

    /// <summary>An Argo Rollout: a workload with a pod template, counted like a Deployment.</summary>
    public const string Rollout = "Rollout";

    /// <summary>A Tekton Task: a definition, run by TaskRuns and by the Pipelines' tasks that name it.</summary>
    public const string Task = "Task";

    /// <summary>A Tekton Pipeline: a definition, run by PipelineRuns.</summary>
    public const string Pipeline = "Pipeline";

    /// <summary>An Argo WorkflowTemplate: a definition, run by Workflows and CronWorkflows that refer to it.</summary>
    public const string WorkflowTemplate = "WorkflowTemplate";

    /// <summary>
    /// An Argo ClusterWorkflowTemplate: a cluster-scoped definition, run by Workflows and CronWorkflows of any namespace
    /// that refer to it with <c>clusterScope: true</c>. The Secrets and ServiceAccounts it names are those of the
    /// namespace of the Workflow that runs it.
    /// </summary>
    public const string ClusterWorkflowTemplate = "ClusterWorkflowTemplate";

    /// <summary>
    /// True for the kinds that say what a run does without running anything themselves: they never count as users, but
    /// a run that names one uses, while it runs, what the definition names. (A ServiceAccount, by contrast, counts as a
    /// user itself: it holds its Secrets for every Pod that runs as it.)
    /// </summary>
    public static bool IsDefinition(string kind) => kind is Task or Pipeline or WorkflowTemplate or ClusterWorkflowTemplate;

    /// <summary>
    /// True for the kinds whose objects belong to no namespace. They are all definitions: what they name is looked up in
    /// the namespace of each run that names them.
    /// </summary>
    public static bool IsClusterScoped(string kind) => kind is ClusterWorkflowTemplate;

    /// <summary>
    /// True for the definitions runs of another namespace can reach (Tekton's cluster resolver names a Task or Pipeline
    /// by namespace and name): besides their own namespace, the index keeps them apart from every namespace, like
    /// cluster-scoped ones, under <see cref="DefinitionReference.InNamespace"/>'s name.
    /// </summary>
    public static bool IsReachableFromOtherNamespaces(string kind) => kind is Task or Pipeline;

    /// <summary>
    /// True for the objects the index keeps apart from every namespace and reads as if in the namespace of each run that
    /// names them: cluster-scoped definitions, and the namespaced ones under their <c>namespace/name</c>.
    /// </summary>
    public static bool IsShared(string kind, string name) =>
        IsClusterScoped(kind) || (IsReachableFromOtherNamespaces(kind) && name.Contains('/', StringComparison.Ordinal));
}
