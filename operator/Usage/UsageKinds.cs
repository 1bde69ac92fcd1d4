namespace Passbox.Operator.Usage;

/// <summary>
/// Kinds of objects the reference tracker understands. The index keys objects by these strings, and
/// <see cref="ServiceAccount"/> is the one it treats specially: an object that uses a ServiceAccount uses, through it,
/// every Secret the ServiceAccount lists.
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
}
