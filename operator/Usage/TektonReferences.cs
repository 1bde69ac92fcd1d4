using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// What Tekton PipelineRuns and TaskRuns use, read from untyped JSON (tekton.dev v1 and v1beta1 shapes):
/// <list type="bullet">
/// <item>workspaces bound to a Secret (<c>secret.secretName</c>, projected sources, CSI);</item>
/// <item>the ServiceAccount the run uses, since Tekton's credential initialisation reads the Secrets the
/// ServiceAccount lists: v1 <c>spec.taskRunTemplate.serviceAccountName</c> and <c>spec.taskRunSpecs[].serviceAccountName</c>,
/// v1beta1 <c>spec.serviceAccountName</c> and <c>spec.taskRunSpecs[].taskServiceAccountName</c>. A run that names
/// none runs as <c>default</c>, Tekton's default default-service-account;</item>
/// <item>pod templates' imagePullSecrets, volumes and env;</item>
/// <item>env, envFrom and volumes of task specs (steps, sidecars, step template): those embedded in the run's spec, and
/// those Tekton resolved from a <c>taskRef</c> or <c>pipelineRef</c> and stored in the status (TaskRun
/// <c>status.taskSpec</c>, PipelineRun <c>status.pipelineSpec</c>), which appear after the run is created. A
/// PipelineRun's tasks that refer to a Task are read from the status of their own TaskRuns. Pipelines embedded in a
/// pipeline's tasks (<c>pipelineSpec</c>, Pipelines in Pipelines) are read like the pipeline itself. A name in a
/// task spec written <c>$(params.x)</c> is read as the parameter's value (<see cref="TektonParameters"/>).</item>
/// <item>the Tasks and Pipelines a run refers to (<c>taskRef</c>, <c>pipelineRef</c> by name, or through the cluster
/// resolver, of the run's namespace or another's: <see cref="TektonDefinitionRefs"/>), as
/// <see cref="DefinitionReference"/>s: the index lets the run use what they name
/// (<see cref="FromTask"/>, <see cref="FromPipeline"/>). A TaskRun's or PipelineRun's own reference counts until Tekton
/// stored the resolved spec in the status (read above instead); a pipeline's tasks that refer to a Task count for the
/// whole run, since their TaskRuns (and their resolved specs) appear only when their turn comes. The parameters a
/// reference passes (the run's <c>params</c>, a pipeline task's) go with it (<see cref="DefinitionCall"/>): a Task's
/// <c>$(params.x)</c> is read, for each run, with the value passed down to it, else its default
/// (<see cref="ParameterWalk"/>).</item>
/// </list>
/// A finished run (condition <c>Succeeded</c> True or False) uses nothing: no more Pods start from it.
/// <para>
/// A PipelineRun's <c>status.childReferences</c> (and v1beta1's embedded <c>status.taskRuns</c>, which the v1 API
/// watched here converts into them) only name its TaskRuns and child runs; those are watched themselves.
/// </para>
/// </summary>
public static class TektonReferences
{
    /// <summary>The ServiceAccount a run without one uses, unless the cluster's Tekton config says otherwise.</summary>
    public const string DefaultServiceAccount = "default";

    /// <summary>
    /// A definition's own parameter values: unknown until a run passes them, so its names keep <c>$(params.x)</c>.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> NoValues = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Embedded pipelines nest (a pipeline task's pipeline has tasks of its own); deeper ones are not read.</summary>
    private const int MaxPipelineDepth = 8;

    public static ObjectReferences FromPipelineRun(JsonNode pipelineRun)
    {
        ArgumentNullException.ThrowIfNull(pipelineRun);
        var (ns, name) = ObjectMetadata.Identity(pipelineRun);
        if (IsFinished(pipelineRun))
        {
            return ObjectReferences.None(UsageKinds.PipelineRun, ns, name);
        }

        var spec = Json.Get(pipelineRun, "spec");
        var collector = new ReferenceCollector { Syntax = TektonParameters.Syntax };
        CollectWorkspaces(spec, collector);

        var serviceAccount = Json.String(spec, "taskRunTemplate", "serviceAccountName") ?? Json.String(spec, "serviceAccountName");
        collector.AddServiceAccount(string.IsNullOrEmpty(serviceAccount) ? DefaultServiceAccount : serviceAccount);
        JsonPodShapes.CollectPodTemplate(Json.Get(spec, "taskRunTemplate", "podTemplate"), collector);
        JsonPodShapes.CollectPodTemplate(Json.Get(spec, "podTemplate"), collector);

        foreach (var taskRunSpec in Json.Items(spec, "taskRunSpecs"))
        {
            collector.AddServiceAccount(Json.String(taskRunSpec, "serviceAccountName"));
            collector.AddServiceAccount(Json.String(taskRunSpec, "taskServiceAccountName"));
            JsonPodShapes.CollectPodTemplate(Json.Get(taskRunSpec, "podTemplate"), collector);
            JsonPodShapes.CollectPodTemplate(Json.Get(taskRunSpec, "taskPodTemplate"), collector);
        }

        // v1beta1 before taskRunSpecs: per-task ServiceAccounts.
        foreach (var perTask in Json.Items(spec, "serviceAccountNames"))
        {
            collector.AddServiceAccount(Json.String(perTask, "serviceAccountName"));
        }

        var resolvedSpec = Json.Get(pipelineRun, "status", "pipelineSpec");
        foreach (var pipelineSpec in (ReadOnlySpan<JsonNode?>)[Json.Get(spec, "pipelineSpec"), resolvedSpec])
        {
            var values = TektonParameters.Values(null, Json.Get(pipelineSpec, "params"), Json.Get(spec, "params"), resolveGiven: null);
            CollectPipelineSpec(pipelineSpec, collector, values, 0);
        }

        // Until Tekton has resolved it into the status, the Pipeline is known only by name: its Tasks start meanwhile.
        if (resolvedSpec is null)
        {
            CollectPipelineRef(Json.Get(spec, "pipelineRef"), collector, TektonParameters.Bindings(Json.Get(spec, "params"), null, collector));
        }

        UsesAnnotation.Collect(Json.Annotations(pipelineRun), collector);
        return collector.Build(UsageKinds.PipelineRun, ns, name);
    }

    public static ObjectReferences FromTaskRun(JsonNode taskRun)
    {
        ArgumentNullException.ThrowIfNull(taskRun);
        var (ns, name) = ObjectMetadata.Identity(taskRun);
        if (IsFinished(taskRun))
        {
            return ObjectReferences.None(UsageKinds.TaskRun, ns, name);
        }

        var spec = Json.Get(taskRun, "spec");
        var collector = new ReferenceCollector { Syntax = TektonParameters.Syntax };
        CollectWorkspaces(spec, collector);

        var serviceAccount = Json.String(spec, "serviceAccountName");
        collector.AddServiceAccount(string.IsNullOrEmpty(serviceAccount) ? DefaultServiceAccount : serviceAccount);
        JsonPodShapes.CollectPodTemplate(Json.Get(spec, "podTemplate"), collector);
        var resolvedSpec = Json.Get(taskRun, "status", "taskSpec");
        foreach (var taskSpec in (ReadOnlySpan<JsonNode?>)[Json.Get(spec, "taskSpec"), resolvedSpec])
        {
            var values = TektonParameters.Values(null, Json.Get(taskSpec, "params"), Json.Get(spec, "params"), resolveGiven: null);
            CollectTaskSpec(taskSpec, collector, values);
        }

        if (resolvedSpec is null)
        {
            CollectTaskRef(Json.Get(spec, "taskRef"), collector, TektonParameters.Bindings(Json.Get(spec, "params"), null, collector));
        }

        UsesAnnotation.Collect(Json.Annotations(taskRun), collector);
        return collector.Build(UsageKinds.TaskRun, ns, name);
    }

    /// <summary>
    /// What a Task names (<c>tekton.dev</c> Task, v1 or v1beta1): the Secrets of its steps, sidecars, step template and
    /// volumes; names written <c>$(params.x)</c> are kept so, with the parameters' defaults, for each run to resolve
    /// with what it passes. A Task runs nothing itself: these count only for the runs that refer to it
    /// (<see cref="UsageKinds.IsDefinition"/>).
    /// </summary>
    public static ObjectReferences FromTask(JsonNode task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var (ns, name) = ObjectMetadata.Identity(task);
        var spec = Json.Get(task, "spec");
        var collector = new ReferenceCollector { Syntax = TektonParameters.Syntax };
        TektonParameters.AddDefaults(Json.Get(spec, "params"), collector);
        CollectTaskSpec(spec, collector, NoValues);
        UsesAnnotation.Collect(Json.Annotations(task), collector);
        return collector.Build(UsageKinds.Task, ns, name);
    }

    /// <summary>
    /// What a Pipeline names: the Secrets of the task specs it embeds and the Tasks (and Pipelines) its tasks refer to by
    /// name, with the parameters they pass. Its own parameters are the run's: names and passed values that use them stay
    /// written with them, with the Pipeline's defaults. Like a Task, it counts only for the runs that refer to it.
    /// </summary>
    public static ObjectReferences FromPipeline(JsonNode pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var (ns, name) = ObjectMetadata.Identity(pipeline);
        var spec = Json.Get(pipeline, "spec");
        var collector = new ReferenceCollector { Syntax = TektonParameters.Syntax };
        TektonParameters.AddDefaults(Json.Get(spec, "params"), collector);
        CollectPipelineSpec(spec, collector, NoValues, 0);
        UsesAnnotation.Collect(Json.Annotations(pipeline), collector);
        return collector.Build(UsageKinds.Pipeline, ns, name);
    }

    /// <summary>True when the run's <c>Succeeded</c> condition is True or False (Unknown means still running).</summary>
    public static bool IsFinished(JsonNode run)
    {
        ArgumentNullException.ThrowIfNull(run);
        foreach (var condition in Json.Items(run, "status", "conditions"))
        {
            if (string.Equals(Json.String(condition, "type"), "Succeeded", StringComparison.Ordinal))
            {
                var status = Json.String(condition, "status");
                return string.Equals(status, "True", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(status, "False", StringComparison.OrdinalIgnoreCase);
            }
        }

        return false;
    }

    private static void CollectWorkspaces(JsonNode? spec, ReferenceCollector collector)
    {
        foreach (var workspace in Json.Items(spec, "workspaces"))
        {
            JsonPodShapes.CollectVolume(workspace, collector);
        }
    }

    /// <summary>A pipeline spec; <paramref name="values"/> are its parameters, which its tasks' params name and embedded specs see.</summary>
    private static void CollectPipelineSpec(JsonNode? pipelineSpec, ReferenceCollector collector, IReadOnlyDictionary<string, string> values, int depth)
    {
        var resolvePipeline = TektonParameters.Resolver(values);
        foreach (var section in (ReadOnlySpan<string>)["tasks", "finally"])
        {
            foreach (var task in Json.Items(pipelineSpec, section))
            {
                var given = Json.Get(task, "params");
                var taskSpec = Json.Get(task, "taskSpec");
                if (taskSpec is not null)
                {
                    CollectTaskSpec(taskSpec, collector, TektonParameters.Values(values, Json.Get(taskSpec, "params"), given, resolvePipeline));
                }

                // Pipelines in Pipelines: a task may embed a whole pipeline, which runs as a child PipelineRun only
                // once its turn comes; until then only the parent names what it will use.
                var childSpec = Json.Get(task, "pipelineSpec");
                if (childSpec is not null && depth < MaxPipelineDepth)
                {
                    CollectPipelineSpec(childSpec, collector, TektonParameters.Values(values, Json.Get(childSpec, "params"), given, resolvePipeline), depth + 1);
                }

                CollectTaskRef(Json.Get(task, "taskRef"), collector, TektonParameters.Bindings(given, resolvePipeline, collector));
                CollectPipelineRef(Json.Get(task, "pipelineRef"), collector, TektonParameters.Bindings(given, resolvePipeline, collector));
            }
        }
    }

    /// <summary>A <c>taskRef</c> to a Task, by name or through the cluster resolver (<see cref="TektonDefinitionRefs"/>).</summary>
    private static void CollectTaskRef(JsonNode? taskRef, ReferenceCollector collector, IEnumerable<ParameterBinding> bindings)
    {
        if (TektonDefinitionRefs.Task(taskRef) is { } task)
        {
            collector.AddDefinition(task, bindings);
        }
    }

    /// <summary>A <c>pipelineRef</c> to a Pipeline, by name or through the cluster resolver.</summary>
    private static void CollectPipelineRef(JsonNode? pipelineRef, ReferenceCollector collector, IEnumerable<ParameterBinding> bindings)
    {
        if (TektonDefinitionRefs.Pipeline(pipelineRef) is { } pipeline)
        {
            collector.AddDefinition(pipeline, bindings);
        }
    }

    /// <summary>A task spec, its <c>$(params.x)</c> names read as <paramref name="values"/> says.</summary>
    private static void CollectTaskSpec(JsonNode? taskSpec, ReferenceCollector collector, IReadOnlyDictionary<string, string> values)
    {
        if (taskSpec is null)
        {
            return;
        }

        collector.Resolver = TektonParameters.Resolver(values);
        JsonPodShapes.CollectContainers(Json.Get(taskSpec, "steps"), collector);
        JsonPodShapes.CollectContainers(Json.Get(taskSpec, "sidecars"), collector);
        JsonPodShapes.CollectContainer(Json.Get(taskSpec, "stepTemplate"), collector);
        JsonPodShapes.CollectVolumes(Json.Get(taskSpec, "volumes"), collector);
        collector.Resolver = null;
    }
}
