using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// What an Argo Workflow uses, read from untyped JSON (argoproj.io/v1alpha1):
/// <list type="bullet">
/// <item><c>spec.volumes</c>, <c>spec.imagePullSecrets</c>, <c>spec.serviceAccountName</c> and per-template
/// <c>serviceAccountName</c>;</item>
/// <item>each template's container, script, init containers, sidecars, container set (env, envFrom) and volumes, and
/// the headers an HTTP template takes from Secrets;</item>
/// <item><c>podSpecPatch</c> of the Workflow and of each template: a pod spec fragment in a string, read as
/// <see cref="PodSpecPatch"/> says;</item>
/// <item>the Secrets artifacts are fetched or stored with (git, S3, OSS, GCS, Azure, HTTP, Artifactory, HDFS
/// credentials): <c>spec.arguments.artifacts</c>, each template's inputs, outputs and <c>archiveLocation</c>, and the
/// artifacts steps and DAG tasks pass; the controller reads these between steps, when no Pod of the Workflow runs;</item>
/// <item>the same in <c>spec.templateDefaults</c>, in templates written inline in steps and DAG tasks, and in the
/// specs the controller resolved and stored in the status (<c>status.storedWorkflowTemplateSpec</c> for a Workflow
/// that refers to a WorkflowTemplate, <c>status.storedTemplates</c>).</item>
/// </list>
/// <c>spec.artifactRepositoryRef</c> names a ConfigMap, which is not read (nor the controller's default artifact
/// repository): their Secrets do not count.
/// A name written as <c>{{workflow.parameters.x}}</c> is read as the value of the Workflow's parameter
/// (<see cref="WorkflowParameters"/>); other expressions (<c>{{inputs.parameters.x}}</c> but through a <c>templateRef</c>,
/// outputs of steps) are not resolved, so such a name refers to no Secret here until a Pod with the substituted name runs.
/// A finished Workflow (phase Succeeded, Failed or Error) uses nothing.
/// <para>
/// WorkflowTemplates of the same namespace that a Workflow runs by name are <see cref="DefinitionReference"/>s: the
/// index lets the Workflow use what they name (<see cref="FromWorkflowTemplate"/>). That is <c>spec.workflowTemplateRef</c>
/// until the controller stored the template's spec in the status (read above instead), and the <c>templateRef</c> of
/// each step and DAG task, whose template the controller resolves only when the step's turn comes. A CronWorkflow
/// (<see cref="FromCronWorkflow"/>) is read like the Workflow it creates, for as long as it exists, like a CronJob.
/// A reference with <c>clusterScope: true</c> names a cluster-scoped ClusterWorkflowTemplate
/// (<see cref="FromClusterWorkflowTemplate"/>), read the same way; the names in it are looked up in the namespace of
/// the Workflow that runs it. A WorkflowTemplate (or ClusterWorkflowTemplate) run by reference takes
/// <c>{{workflow.parameters.x}}</c> from the Workflow's arguments over its own, and a template named by a
/// <c>templateRef</c> its <c>{{inputs.parameters.x}}</c> from the step's <c>arguments</c> over its defaults: the index
/// resolves them for each Workflow (<see cref="ParameterWalk"/>).
/// </para>
/// </summary>
public static class ArgoWorkflowReferences
{
    /// <summary>Inline templates nest (a step's inline template has steps of its own); deeper ones are not read.</summary>
    private const int MaxInlineDepth = 8;

    /// <summary>
    /// The Secret selectors (<c>{name, key}</c>) of each artifact driver, relative to the driver's object in an artifact
    /// location (argoproj.io/v1alpha1 <c>ArtifactLocation</c>).
    /// </summary>
    private static readonly (string Driver, string[] Path)[] ArtifactSecrets =
    [
        ("s3", ["accessKeySecret"]),
        ("s3", ["secretKeySecret"]),
        ("s3", ["sessionTokenSecret"]),
        ("s3", ["caSecret"]),
        ("s3", ["encryptionOptions", "serverSideCustomerKeySecret"]),
        ("oss", ["accessKeySecret"]),
        ("oss", ["secretKeySecret"]),
        ("git", ["usernameSecret"]),
        ("git", ["passwordSecret"]),
        ("git", ["sshPrivateKeySecret"]),
        ("http", ["auth", "basicAuth", "usernameSecret"]),
        ("http", ["auth", "basicAuth", "passwordSecret"]),
        ("http", ["auth", "clientCert", "clientCertSecret"]),
        ("http", ["auth", "clientCert", "clientKeySecret"]),
        ("http", ["auth", "oauth2", "clientIDSecret"]),
        ("http", ["auth", "oauth2", "clientSecretSecret"]),
        ("http", ["auth", "oauth2", "tokenURLSecret"]),
        ("artifactory", ["usernameSecret"]),
        ("artifactory", ["passwordSecret"]),
        ("gcs", ["serviceAccountKeySecret"]),
        ("azure", ["accountKeySecret"]),
        ("hdfs", ["krbCCacheSecret"]),
        ("hdfs", ["krbKeytabSecret"]),
    ];

    public static ObjectReferences From(JsonNode workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var (ns, name) = ObjectMetadata.Identity(workflow);
        if (IsFinished(workflow))
        {
            return ObjectReferences.None(UsageKinds.Workflow, ns, name);
        }

        var collector = new ReferenceCollector(WorkflowParameters.Resolver(workflow)) { Syntax = WorkflowParameters.Syntax(null) };
        CollectSpec(Json.Get(workflow, "spec"), collector);

        // What the controller resolved from a workflowTemplateRef or templateRef, and runs from, between steps too.
        var storedSpec = Json.Get(workflow, "status", "storedWorkflowTemplateSpec");
        WorkflowParameters.AddValues(Json.Get(workflow, "spec"), storedSpec, collector);
        CollectSpec(storedSpec, collector);
        if (storedSpec is null)
        {
            CollectWorkflowTemplateRef(Json.Get(workflow, "spec", "workflowTemplateRef"), collector);
        }
        if (Json.Get(workflow, "status", "storedTemplates") is JsonObject storedTemplates)
        {
            foreach (var (_, template) in storedTemplates)
            {
                CollectTemplate(template, collector, 0);
            }
        }

        UsesAnnotation.Collect(Json.Annotations(workflow), collector);
        return collector.Build(UsageKinds.Workflow, ns, name);
    }

    /// <summary>
    /// What a CronWorkflow names: the Workflow spec it creates Workflows from (<c>spec.workflowSpec</c>), and the
    /// WorkflowTemplates that spec refers to. It counts for as long as it exists, suspended or not: its next Workflow may
    /// start at any time.
    /// </summary>
    public static ObjectReferences FromCronWorkflow(JsonNode cronWorkflow)
    {
        ArgumentNullException.ThrowIfNull(cronWorkflow);
        var (ns, name) = ObjectMetadata.Identity(cronWorkflow);
        var workflowSpec = Json.Get(cronWorkflow, "spec", "workflowSpec");
        var collector = new ReferenceCollector(WorkflowParameters.Resolver(workflowSpec, underlying: null)) { Syntax = WorkflowParameters.Syntax(null) };
        WorkflowParameters.AddValues(workflowSpec, underlying: null, collector);
        CollectSpec(workflowSpec, collector);
        CollectWorkflowTemplateRef(Json.Get(workflowSpec, "workflowTemplateRef"), collector);
        UsesAnnotation.Collect(Json.Annotations(cronWorkflow), collector);
        return collector.Build(UsageKinds.CronWorkflow, ns, name);
    }

    /// <summary>
    /// What a WorkflowTemplate names (its <c>spec</c> has the Workflow spec's shape; names written with parameters are
    /// kept so, with the template's values, for each Workflow to resolve). It runs nothing itself: these count only for
    /// the Workflows and CronWorkflows that refer to it.
    /// </summary>
    public static ObjectReferences FromWorkflowTemplate(JsonNode workflowTemplate)
    {
        ArgumentNullException.ThrowIfNull(workflowTemplate);
        var (ns, name) = ObjectMetadata.Identity(workflowTemplate);
        return FromTemplateDefinition(workflowTemplate, UsageKinds.WorkflowTemplate, ns, name);
    }

    /// <summary>
    /// What a ClusterWorkflowTemplate names, read like a WorkflowTemplate. It belongs to no namespace: the Secrets and
    /// ServiceAccounts it names are those of each Workflow's namespace that runs it, and count only for those Workflows.
    /// </summary>
    public static ObjectReferences FromClusterWorkflowTemplate(JsonNode clusterWorkflowTemplate)
    {
        ArgumentNullException.ThrowIfNull(clusterWorkflowTemplate);
        var (_, name) = ObjectMetadata.Identity(clusterWorkflowTemplate);
        return FromTemplateDefinition(clusterWorkflowTemplate, UsageKinds.ClusterWorkflowTemplate, string.Empty, name);
    }

    private static ObjectReferences FromTemplateDefinition(JsonNode template, string kind, string ns, string name)
    {
        var spec = Json.Get(template, "spec");
        var collector = new ReferenceCollector { Syntax = WorkflowParameters.Syntax(null) };
        WorkflowParameters.AddValues(spec, underlying: null, collector);
        CollectSpec(spec, collector);
        UsesAnnotation.Collect(Json.Annotations(template), collector);
        return collector.Build(kind, ns, name);
    }

    public static bool IsFinished(JsonNode workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var phase = Json.String(workflow, "status", "phase");
        return phase is "Succeeded" or "Failed" or "Error";
    }

    private static void CollectSpec(JsonNode? spec, ReferenceCollector collector)
    {
        if (spec is null)
        {
            return;
        }

        JsonPodShapes.CollectVolumes(Json.Get(spec, "volumes"), collector);
        JsonPodShapes.CollectImagePullSecrets(Json.Get(spec, "imagePullSecrets"), collector);
        collector.AddServiceAccount(Json.String(spec, "serviceAccountName"));
        PodSpecPatch.Collect(Json.String(spec, "podSpecPatch"), collector);
        CollectArtifacts(Json.Get(spec, "arguments", "artifacts"), collector);
        CollectTemplate(Json.Get(spec, "templateDefaults"), collector, 0);
        CollectHooks(Json.Get(spec, "hooks"), collector);
        var outer = collector.Syntax;
        foreach (var template in Json.Items(spec, "templates"))
        {
            // {{inputs.parameters.x}} is an input of the template it is written in.
            collector.Syntax = outer is null ? null : WorkflowParameters.Syntax(Json.String(template, "name"));
            CollectTemplate(template, collector, 0);
        }

        collector.Syntax = outer;
    }

    private static void CollectTemplate(JsonNode? template, ReferenceCollector collector, int depth)
    {
        if (template is null)
        {
            return;
        }

        JsonPodShapes.CollectContainer(Json.Get(template, "container"), collector);
        JsonPodShapes.CollectContainer(Json.Get(template, "script"), collector);
        JsonPodShapes.CollectContainers(Json.Get(template, "initContainers"), collector);
        JsonPodShapes.CollectContainers(Json.Get(template, "sidecars"), collector);
        JsonPodShapes.CollectContainers(Json.Get(template, "containerSet", "containers"), collector);
        JsonPodShapes.CollectVolumes(Json.Get(template, "volumes"), collector);
        collector.AddServiceAccount(Json.String(template, "serviceAccountName"));
        PodSpecPatch.Collect(Json.String(template, "podSpecPatch"), collector);

        CollectArtifacts(Json.Get(template, "inputs", "artifacts"), collector);
        CollectArtifacts(Json.Get(template, "outputs", "artifacts"), collector);
        CollectArtifactLocation(Json.Get(template, "archiveLocation"), collector);
        foreach (var header in Json.Items(template, "http", "headers"))
        {
            collector.AddSecret(Json.String(header, "valueFrom", "secretKeyRef", "name"));
        }

        // steps is a list of parallel groups, each a list of steps.
        foreach (var group in Json.Items(template, "steps"))
        {
            foreach (var step in Json.Items(group))
            {
                CollectInvocation(step, collector, depth);
            }
        }

        foreach (var task in Json.Items(template, "dag", "tasks"))
        {
            CollectInvocation(task, collector, depth);
        }
    }

    /// <summary>A step or DAG task: the artifacts it passes, the template it may carry inline, the WorkflowTemplate it may run.</summary>
    private static void CollectInvocation(JsonNode invocation, ReferenceCollector collector, int depth)
    {
        CollectArtifacts(Json.Get(invocation, "arguments", "artifacts"), collector);
        if (depth < MaxInlineDepth)
        {
            // An inline template's inputs are its own, passed by this step: not read.
            var outer = collector.Syntax;
            collector.Syntax = outer is null ? null : WorkflowParameters.Syntax(template: null);
            CollectTemplate(Json.Get(invocation, "inline"), collector, depth + 1);
            collector.Syntax = outer;
        }

        // What the whole WorkflowTemplate names counts, not only the template named: at worst a Secret too many is kept
        // while the Workflow runs, and the template's name may be an expression resolved only when the step runs.
        var templateRef = Json.Get(invocation, "templateRef");
        CollectWorkflowTemplateRef(templateRef, collector, WorkflowParameters.Arguments(invocation, Json.String(templateRef, "template"), collector));
        CollectHooks(Json.Get(invocation, "hooks"), collector);
    }

    /// <summary>
    /// Lifecycle hooks (<c>hooks</c> of the Workflow spec or of a step or DAG task, keyed by event: <c>exit</c>,
    /// <c>running</c>, or an expression) run a template too, often a WorkflowTemplate's exit handler by <c>templateRef</c>:
    /// without this, a Secret only that handler names could be deleted while the Workflow still has it to run.
    /// </summary>
    private static void CollectHooks(JsonNode? hooks, ReferenceCollector collector)
    {
        if (hooks is not JsonObject byEvent)
        {
            return;
        }

        foreach (var (_, hook) in byEvent)
        {
            CollectArtifacts(Json.Get(hook, "arguments", "artifacts"), collector);
            var templateRef = Json.Get(hook, "templateRef");
            CollectWorkflowTemplateRef(templateRef, collector, WorkflowParameters.Arguments(hook, Json.String(templateRef, "template"), collector));
        }
    }

    /// <summary>
    /// A <c>workflowTemplateRef</c> or <c>templateRef</c>: to a WorkflowTemplate of the same namespace, or, with
    /// <c>clusterScope: true</c>, to a ClusterWorkflowTemplate; with the inputs a <c>templateRef</c> passes (the
    /// Workflow's own parameters go along to every template it runs without being passed).
    /// </summary>
    private static void CollectWorkflowTemplateRef(JsonNode? reference, ReferenceCollector collector, IEnumerable<ParameterBinding>? bindings = null)
    {
        var clusterScoped = Json.Get(reference, "clusterScope") is JsonValue clusterScope && clusterScope.GetValueKind() == System.Text.Json.JsonValueKind.True;
        collector.AddDefinition(clusterScoped ? UsageKinds.ClusterWorkflowTemplate : UsageKinds.WorkflowTemplate, Json.String(reference, "name"), bindings);
    }

    private static void CollectArtifacts(JsonNode? artifacts, ReferenceCollector collector)
    {
        foreach (var artifact in Json.Items(artifacts))
        {
            CollectArtifactLocation(artifact, collector);
        }
    }

    /// <summary>An artifact or an archive location: both carry the driver objects (s3, git, …) at their top level.</summary>
    private static void CollectArtifactLocation(JsonNode? location, ReferenceCollector collector)
    {
        if (location is not JsonObject)
        {
            return;
        }

        foreach (var (driver, path) in ArtifactSecrets)
        {
            if (Json.Get(location, driver) is JsonObject driverObject)
            {
                collector.AddSecret(Json.String(Json.Get(driverObject, path), "name"));
            }
        }
    }
}
