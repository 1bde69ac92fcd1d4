using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// The kinds whose objects can keep a credential's Secret in use: built-in kinds, always watched, and the custom
/// resources of Tekton and Argo Workflows (runs, CronWorkflows, and the definitions runs refer to by name) and Argo
/// Rollouts, watched while their CRDs exist (<see cref="CustomResourceUsageFeed"/>).
/// </summary>
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

    /// <summary>
    /// Tekton's <c>v1</c> API, served by every release since Pipelines v0.43 (v1beta1-only installations are older);
    /// the extractor reads both shapes, so objects stored as v1beta1 read the same.
    /// </summary>
    public static readonly UsageSource<UntypedObject> PipelineRuns = new(
        UsageKinds.PipelineRun, new ResourceDescriptor("tekton.dev", "v1", "pipelineruns", "PipelineRun"), run => TektonReferences.FromPipelineRun(run.ToJson()), () => new UntypedObject());

    public static readonly UsageSource<UntypedObject> TaskRuns = new(
        UsageKinds.TaskRun, new ResourceDescriptor("tekton.dev", "v1", "taskruns", "TaskRun"), run => TektonReferences.FromTaskRun(run.ToJson()), () => new UntypedObject());

    /// <summary>Tasks and Pipelines count only for the runs that refer to them by name (<see cref="UsageKinds.IsDefinition"/>).</summary>
    public static readonly UsageSource<UntypedObject> Tasks = new(
        UsageKinds.Task, new ResourceDescriptor("tekton.dev", "v1", "tasks", "Task"), task => TektonReferences.FromTask(task.ToJson()), () => new UntypedObject());

    public static readonly UsageSource<UntypedObject> Pipelines = new(
        UsageKinds.Pipeline, new ResourceDescriptor("tekton.dev", "v1", "pipelines", "Pipeline"), pipeline => TektonReferences.FromPipeline(pipeline.ToJson()), () => new UntypedObject());

    public static readonly UsageSource<UntypedObject> Workflows = new(
        UsageKinds.Workflow, new ResourceDescriptor("argoproj.io", "v1alpha1", "workflows", "Workflow"), workflow => ArgoWorkflowReferences.From(workflow.ToJson()), () => new UntypedObject());

    public static readonly UsageSource<UntypedObject> CronWorkflows = new(
        UsageKinds.CronWorkflow, new ResourceDescriptor("argoproj.io", "v1alpha1", "cronworkflows", "CronWorkflow"), cron => ArgoWorkflowReferences.FromCronWorkflow(cron.ToJson()), () => new UntypedObject());

    /// <summary>WorkflowTemplates count only for the Workflows and CronWorkflows that refer to them by name.</summary>
    public static readonly UsageSource<UntypedObject> WorkflowTemplates = new(
        UsageKinds.WorkflowTemplate, new ResourceDescriptor("argoproj.io", "v1alpha1", "workflowtemplates", "WorkflowTemplate"), template => ArgoWorkflowReferences.FromWorkflowTemplate(template.ToJson()), () => new UntypedObject());

    /// <summary>
    /// ClusterWorkflowTemplates are cluster-scoped: watched across the cluster (only by an operator that watches every
    /// namespace), they count for the Workflows and CronWorkflows of any namespace that refer to them.
    /// </summary>
    public static readonly UsageSource<UntypedObject> ClusterWorkflowTemplates = new(
        UsageKinds.ClusterWorkflowTemplate,
        new ResourceDescriptor("argoproj.io", "v1alpha1", "clusterworkflowtemplates", "ClusterWorkflowTemplate", Namespaced: false),
        template => ArgoWorkflowReferences.FromClusterWorkflowTemplate(template.ToJson()),
        () => new UntypedObject());

    /// <summary>Argo Rollouts count like Deployments: their pod template, or the Deployment they take it from.</summary>
    public static readonly UsageSource<UntypedObject> Rollouts = new(
        UsageKinds.Rollout, new ResourceDescriptor("argoproj.io", "v1alpha1", "rollouts", "Rollout"), rollout => ArgoRolloutReferences.From(rollout.ToJson()), () => new UntypedObject());

    /// <summary>The custom resources above, by the name of their CRD (<c>plural.group</c>).</summary>
    public static readonly IReadOnlyDictionary<string, UsageSource<UntypedObject>> ByDefinition =
        new[] { PipelineRuns, TaskRuns, Tasks, Pipelines, Workflows, CronWorkflows, WorkflowTemplates, ClusterWorkflowTemplates, Rollouts }
            .ToDictionary(source => source.Resource.DisplayName, StringComparer.Ordinal);
}
