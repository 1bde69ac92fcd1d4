using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>What the end-to-end tests do as a user would: create Secrets and credentials, read what came out.</summary>
public sealed class ClusterTestKit(ControlPlaneFixture controlPlane, string namespaceName)
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    private readonly Kubernetes admin = controlPlane.Admin;

    public string Namespace { get; } = namespaceName;

    public Task<V1Secret> CreateSecretAsync(string name, IDictionary<string, string> data, IDictionary<string, string>? labels = null) =>
        admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = labels },
            Data = data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetBytes(p.Value)),
        }, Namespace);

    /// <summary>
    /// Sets one key as <c>kubectl patch</c> would: a merge patch without a resourceVersion, so an edit by hand is not
    /// refused because the operator wrote the Secret a moment before.
    /// </summary>
    public Task SetSecretValueAsync(string name, string key, string value)
    {
        var patch = new JsonObject { ["data"] = new JsonObject { [key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value)) } };
        return admin.CoreV1.PatchNamespacedSecretAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), name, Namespace);
    }

    public async Task<V1Secret?> TryGetSecretAsync(string name)
    {
        try
        {
            return await admin.CoreV1.ReadNamespacedSecretAsync(name, Namespace);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static Dictionary<string, string> Decode(V1Secret secret) =>
        (secret.Data ?? new Dictionary<string, byte[]>()).ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value));

    public async Task<T> CreateAsync<T>(T credential)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>();
        credential.Metadata.NamespaceProperty = Namespace;
        var created = await admin.CustomObjects.CreateNamespacedCustomObjectAsync(credential, resource.Group, resource.Version, Namespace, resource.Plural);
        return KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(created));
    }

    public async Task<T?> GetAsync<T>(string name)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>();
        try
        {
            var item = await admin.CustomObjects.GetNamespacedCustomObjectAsync(resource.Group, resource.Version, Namespace, resource.Plural, name);
            return KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(item));
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Changes a credential with a merge patch (a spec edit, an annotation).</summary>
    public Task PatchAsync<T>(string name, object patch)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>();
        return admin.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch), resource.Group, resource.Version, Namespace, resource.Plural, name);
    }

    /// <summary>Changes a credential's status with a merge patch, as if a write of the operator had been lost.</summary>
    public Task PatchStatusAsync<T>(string name, object patch)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>();
        return admin.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
            new V1Patch(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch), resource.Group, resource.Version, Namespace, resource.Plural, name);
    }

    public Task DeleteAsync<T>(string name)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>();
        return admin.CustomObjects.DeleteNamespacedCustomObjectAsync(resource.Group, resource.Version, Namespace, resource.Plural, name);
    }

    /// <summary>Polls (test side only) until <paramref name="check"/> holds, failing with the last state seen.</summary>
    public static async Task<TResult> EventuallyAsync<TResult>(Func<Task<TResult>> read, Func<TResult, bool> check, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultWait);
        TResult last;
        while (true)
        {
            last = await read();
            if (check(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}; last seen: {Shown(last)}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>
    /// What a timed-out wait prints. A Secret (a published one holds the password) is shown without its values: the
    /// test output is a log like any other.
    /// </summary>
    internal static string Shown(object? last) => last switch
    {
        null => "null",
        V1Secret secret => KubernetesJson.Serialize(new V1Secret
        {
            Metadata = secret.Metadata,
            Type = secret.Type,
            Data = secret.Data?.ToDictionary(p => p.Key, _ => Array.Empty<byte>()),
        }) + " (values left out)",
        _ => KubernetesJson.Serialize(last),
    };

    public Task<T> WaitForConditionAsync<T>(string name, string type, string status, string? reason = null, TimeSpan? timeout = null)
        where T : class, IKubernetesObject<V1ObjectMeta> =>
        EventuallyAsync(
            async () => (await GetAsync<T>(name))!,
            c => StatusOf(c) is { } s
                && s.Conditions?.Find(x => x.Type == type) is { } condition
                && condition.Status == status
                && (reason is null || condition.Reason == reason)
                && s.ObservedGeneration == c.Metadata.Generation,
            $"{typeof(T).Name} {name} to have {type}={status}{(reason is null ? "" : "/" + reason)}",
            timeout);

    public static CredentialStatus? StatusOf(object? credential) => credential switch
    {
        ClusterCredential c => c.Status,
        PipelineCredential p => p.Status,
        _ => null,
    };

    public Task<V1Secret> WaitForSecretAsync(string name, Func<V1Secret, bool>? check = null, TimeSpan? timeout = null) =>
        EventuallyAsync(async () => (await TryGetSecretAsync(name))!, s => s is not null && (check?.Invoke(s) ?? true), $"Secret {name}", timeout);

    /// <summary>
    /// The simplest PipelineCredential: a token (secret text) from key <c>token</c> of <paramref name="sourceSecret"/>,
    /// published without a probe, so it is Ready as soon as its Secret exists.
    /// </summary>
    public static PipelineCredential TokenCredential(string name, string sourceSecret = "token-input") => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new PipelineCredentialSpec
        {
            Type = PipelineCredentialType.SecretText,
            SecretText = new SecretTextSource { SecretRef = new SecretKeyReference { Name = sourceSecret, Key = "token" } },
            Validation = new PipelineValidationSettings { Probe = PipelineProbe.None },
        },
    };

    /// <summary>
    /// Creates a <see cref="TokenCredential"/> with its token in Secret <c>name-input</c> and waits until it is Ready,
    /// guarded by the in-use finalizer, with its Secret published; returns the name of that Secret (the credential's).
    /// </summary>
    public async Task<string> CreateReadyTokenCredentialAsync(string name, string token)
    {
        await CreateSecretAsync($"{name}-input", new Dictionary<string, string> { ["token"] = token });
        await CreateAsync(TokenCredential(name, $"{name}-input"));
        var ready = await WaitForConditionAsync<PipelineCredential>(name, ConditionTypes.Ready, "True");
        ready.Metadata.Finalizers.Should().Contain(ApiGroup.InUseFinalizer);
        await WaitForSecretAsync(name);
        return name;
    }

    /// <summary>Waits until status.usedBy of PipelineCredential <paramref name="name"/> lists exactly <paramref name="users"/> ("Kind name").</summary>
    public Task<PipelineCredential> WaitUsedByAsync(string name, params string[] users) =>
        EventuallyAsync(
            async () => (await GetAsync<PipelineCredential>(name))!,
            c => c?.Status?.UsedBy is { } usedBy
                && usedBy.Count == users.Length
                && users.All(u => usedBy.Items?.Any(i => $"{i.Kind} {i.Name}" == u) == true),
            $"status.usedBy of {name} to be exactly {string.Join(", ", users)}");

    /// <summary>
    /// Waits until the deletion of PipelineCredential <paramref name="name"/> is blocked by <paramref name="user"/>
    /// ("Kind name"): deleted, DeletionBlocked=True (InUse) naming the user, and status.usedBy listing it.
    /// </summary>
    public Task<PipelineCredential> WaitDeletionBlockedAsync(string name, string user) =>
        EventuallyAsync(
            async () => (await GetAsync<PipelineCredential>(name))!,
            c => c is not null
                && c.Metadata.DeletionTimestamp is not null
                && c.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ConditionReasons.InUse } blocked
                && blocked.Message.Contains(user, StringComparison.Ordinal)
                && c.Status.UsedBy?.Items?.Any(i => $"{i.Kind} {i.Name}" == user) == true,
            $"deletion of {name} to be blocked by {user}");

    /// <summary>Waits until PipelineCredential <paramref name="name"/> is deleted and its Secret with it.</summary>
    public async Task WaitDeletedWithSecretAsync(string name)
    {
        await EventuallyAsync(() => GetAsync<PipelineCredential>(name), c => c is null, $"{name} to be deleted");
        await EventuallyAsync(() => TryGetSecretAsync(name), s => s is null, $"the Secret of {name} to be deleted");
    }

    /// <summary>A name with a random suffix, e.g. a database user no other test run has.</summary>
    public static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..(prefix.Length + 8)];

    /// <summary>Creating the credential fails with 422 (schema or CEL rule); the rejection, to check its message.</summary>
    public async Task<HttpOperationException> RejectedAsync<T>(T credential)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var act = () => CreateAsync(credential);
        var rejected = (await act.Should().ThrowAsync<HttpOperationException>()).Which;
        rejected.Response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        return rejected;
    }

    /// <summary>The values of these keys in every Secret of the namespace (generated passwords, tokens), for leak checks.</summary>
    public async Task<IReadOnlyList<string>> SecretValuesAsync(params string[] keys) =>
        (await admin.CoreV1.ListNamespacedSecretAsync(Namespace)).Items
            .SelectMany(s => Decode(s).Where(p => keys.Contains(p.Key, StringComparer.Ordinal)).Select(p => p.Value))
            .ToList();

    /// <summary>A Deployment whose pods use <paramref name="secretName"/> through envFrom (when given).</summary>
    public Task<V1Deployment> CreateDeploymentAsync(string name, IDictionary<string, string>? annotations, string? secretName = null) =>
        admin.AppsV1.CreateNamespacedDeploymentAsync(new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = name, Annotations = annotations },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = name } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = name } },
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "app",
                                Image = "registry.invalid/app:1",
                                EnvFrom = secretName is null ? null : [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = secretName } }],
                            },
                        ],
                    },
                },
            },
        }, Namespace);

    /// <summary>Whether the Deployment's pod template carries Passbox's restart annotation.</summary>
    public async Task<bool> WasRestartedAsync(string deployment) =>
        (await admin.AppsV1.ReadNamespacedDeploymentAsync(deployment, Namespace)).Spec.Template.Metadata?.Annotations?
            .ContainsKey(Passbox.Operator.Provisioning.WorkloadRestarter.RestartedAtAnnotation) == true;

    /// <summary>A Pod that mounts the Secret: in-use protection counts it as a user.</summary>
    public Task<V1Pod> CreatePodUsingSecretAsync(string name, string secretName) =>
        admin.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1PodSpec
            {
                Containers = [new V1Container { Name = "app", Image = "busybox", VolumeMounts = [new V1VolumeMount { Name = "db", MountPath = "/etc/db" }] }],
                Volumes = [new V1Volume { Name = "db", Secret = new V1SecretVolumeSource { SecretName = secretName } }],
            },
        }, Namespace);

    /// <summary>
    /// The in-use shape of a ClusterCredential: a Pod that mounts its Secret (named as the credential), usedBy counting
    /// it, the deletion blocked (InUse) while <paramref name="whileBlocked"/> checks what the engine must keep, then the
    /// Pod deleted and the credential gone.
    /// </summary>
    public async Task DeleteWhileAPodUsesItAsync(string credential, string pod, Func<Task> whileBlocked)
    {
        await CreatePodUsingSecretAsync(pod, credential);
        await EventuallyAsync(() => GetAsync<ClusterCredential>(credential), c => c?.Status?.UsedBy?.Count == 1, "the Pod to be counted as a user");

        await DeleteAsync<ClusterCredential>(credential);

        await EventuallyAsync(() => GetAsync<ClusterCredential>(credential),
            c => c?.Status?.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: ConditionReasons.InUse },
            "the deletion to be blocked by the Pod");
        await whileBlocked();

        await DeletePodAsync(pod);

        await EventuallyAsync(() => GetAsync<ClusterCredential>(credential), c => c is null, "the credential to go");
    }

    /// <summary>Deletes a Pod (raw: the local control plane answers with a Status, which the typed client cannot read as a Pod).</summary>
    public async Task DeletePodAsync(string name)
    {
        using var deleted = await controlPlane.AdminApi.SendAsync(HttpMethod.Delete, $"api/v1/namespaces/{Namespace}/pods/{name}", null, "application/json", false, CancellationToken.None);
        deleted.IsSuccessStatusCode.Should().BeTrue();
    }

    public async Task<IReadOnlyList<Corev1Event>> EventsAsync() =>
        (await admin.CoreV1.ListNamespacedEventAsync(Namespace)).Items.ToList();

    /// <summary>The operator writes Events in the background, after the reconcile that caused them: wait for them.</summary>
    public Task<IReadOnlyList<Corev1Event>> WaitForEventsAsync(Func<IReadOnlyList<Corev1Event>, bool> check, string what) =>
        EventuallyAsync(EventsAsync, check, what);

    /// <summary>Fails when any log line, event or credential status of the run contains one of the secrets.</summary>
    public async Task AssertNothingLeakedAsync(OperatorHost host, params string[] secrets)
    {
        // A test over within milliseconds of the start (a schema refusal) can get here before the operator's first line.
        await EventuallyAsync(() => Task.FromResult(host.LogLines.Count), count => count > 0, "the operator's first log line", TimeSpan.FromSeconds(10));
        var events = await EventsAsync();
        var texts = host.LogLines
            .Concat(events.Select(e => $"{e.Reason} {e.Message}"))
            .Concat(await StatusesAsync<ClusterCredential>())
            .Concat(await StatusesAsync<PipelineCredential>())
            .ToList();
        texts.Should().NotBeEmpty("the operator logs and records events while it works");
        foreach (var secret in secrets.Where(s => !string.IsNullOrEmpty(s)))
        {
            // Only counts: printing the lines would put the secret into the test output.
            var leaks = texts.Count(t => t.Contains(secret, StringComparison.Ordinal));
            leaks.Should().Be(0, "no log line, event or status may contain a password, token or key");
        }
    }

    /// <summary>Every text in the status of every credential of a kind in the namespace (messages, names, versions).</summary>
    private async Task<IEnumerable<string>> StatusesAsync<T>()
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>();
        var list = await admin.CustomObjects.ListNamespacedCustomObjectAsync(resource.Group, resource.Version, Namespace, resource.Plural);
        var items = JsonNode.Parse(KubernetesJson.Serialize(list))?["items"]?.AsArray() ?? [];
        return items.SelectMany(item => Texts(item?["status"])).ToList();
    }

    /// <summary>The string values of a JSON tree, unescaped (serialized JSON would escape characters a secret may hold).</summary>
    private static IEnumerable<string> Texts(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => Texts(p.Value)),
        JsonArray a => a.SelectMany(Texts),
        JsonValue v when v.TryGetValue<string>(out var text) => [text],
        _ => [],
    };
}
