using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>The built-in kinds whose objects can keep a credential's Secret in use.</summary>
public static class UsageSources
{
    public static readonly UsageSource<V1Pod> Pods = new(UsageKinds.Pod, ResourceDescriptor.Pods, PodReferences.From, () => new V1Pod());
    public static readonly UsageSource<V1Deployment> Deployments = new(UsageKinds.Deployment, ResourceDescriptor.Deployments, WorkloadReferences.From, () => new V1Deployment());
    public static readonly UsageSource<V1StatefulSet> StatefulSets = new(UsageKinds.StatefulSet, ResourceDescriptor.StatefulSets, WorkloadReferences.From, () => new V1StatefulSet());
    public static readonly UsageSource<V1DaemonSet> DaemonSets = new(UsageKinds.DaemonSet, ResourceDescriptor.DaemonSets, WorkloadReferences.From, () => new V1DaemonSet());
    public static readonly UsageSource<V1ReplicaSet> ReplicaSets = new(UsageKinds.ReplicaSet, ResourceDescriptor.ReplicaSets, WorkloadReferences.From, () => new V1ReplicaSet());
    public static readonly UsageSource<V1Job> Jobs = new(UsageKinds.Job, ResourceDescriptor.Jobs, WorkloadReferences.From, () => new V1Job());
    public static readonly UsageSource<V1CronJob> CronJobs = new(UsageKinds.CronJob, ResourceDescriptor.CronJobs, WorkloadReferences.From, () => new V1CronJob());
    public static readonly UsageSource<V1ServiceAccount> ServiceAccounts = new(UsageKinds.ServiceAccount, ResourceDescriptor.ServiceAccounts, ServiceAccountReferences.From, () => new V1ServiceAccount());
}
