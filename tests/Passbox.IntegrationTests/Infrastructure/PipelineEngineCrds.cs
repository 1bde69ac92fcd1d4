using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// Stand-ins for the CRDs of Tekton Pipelines, Argo Workflows (runs, and the definitions they name) and Argo Rollouts: the group,
/// version and names of the real ones (spelled out here, not taken from the operator, so a wrong name in the operator
/// fails the tests), with an open schema and a status subresource. No Tekton or Argo controller runs; tests write the runs' status themselves.
/// </summary>
public static class PipelineEngineCrds
{
    public static readonly ResourceDescriptor PipelineRuns = new("tekton.dev", "v1", "pipelineruns", "PipelineRun");
    public static readonly ResourceDescriptor TaskRuns = new("tekton.dev", "v1", "taskruns", "TaskRun");
    public static readonly ResourceDescriptor Tasks = new("tekton.dev", "v1", "tasks", "Task");
    public static readonly ResourceDescriptor Pipelines = new("tekton.dev", "v1", "pipelines", "Pipeline");
    public static readonly ResourceDescriptor Workflows = new("argoproj.io", "v1alpha1", "workflows", "Workflow");
    public static readonly ResourceDescriptor CronWorkflows = new("argoproj.io", "v1alpha1", "cronworkflows", "CronWorkflow");
    public static readonly ResourceDescriptor WorkflowTemplates = new("argoproj.io", "v1alpha1", "workflowtemplates", "WorkflowTemplate");
    public static readonly ResourceDescriptor ClusterWorkflowTemplates = new("argoproj.io", "v1alpha1", "clusterworkflowtemplates", "ClusterWorkflowTemplate", Namespaced: false);
    public static readonly ResourceDescriptor Rollouts = new("argoproj.io", "v1alpha1", "rollouts", "Rollout");

    public static IReadOnlyList<ResourceDescriptor> All { get; } =
        [PipelineRuns, TaskRuns, Tasks, Pipelines, Workflows, CronWorkflows, WorkflowTemplates, ClusterWorkflowTemplates, Rollouts];

    public static V1CustomResourceDefinition For(ResourceDescriptor resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return ControlPlaneTestCrd.Build(resource.Group, resource.Plural, resource.Kind, resource.Version, resource.Namespaced);
    }
}
