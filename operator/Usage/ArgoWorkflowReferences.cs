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
/// (<see cref="WorkflowParameters"/>); other expressions (<c>{{inputs.parameters.x}}</c>, outputs of steps) are not
/// resolved, so such a name refers to no Secret here until a Pod with the substituted name runs.
/// A finished Workflow (phase Succeeded, Failed or Error) uses nothing.
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

        var collector = new ReferenceCollector(WorkflowParameters.Resolver(workflow));
        CollectSpec(Json.Get(workflow, "spec"), collector);

        // What the controller resolved from a workflowTemplateRef or templateRef, and runs from, between steps too.
        CollectSpec(Json.Get(workflow, "status", "storedWorkflowTemplateSpec"), collector);
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
        foreach (var template in Json.Items(spec, "templates"))
        {
            CollectTemplate(template, collector, 0);
        }
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

    /// <summary>A step or DAG task: the artifacts it passes and the template it may carry inline.</summary>
    private static void CollectInvocation(JsonNode invocation, ReferenceCollector collector, int depth)
    {
        CollectArtifacts(Json.Get(invocation, "arguments", "artifacts"), collector);
        if (depth < MaxInlineDepth)
        {
            CollectTemplate(Json.Get(invocation, "inline"), collector, depth + 1);
        }
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
