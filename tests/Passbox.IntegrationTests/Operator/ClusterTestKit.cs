using System.Net;
using System.Text;
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

    public async Task SetSecretValueAsync(string name, string key, string value)
    {
        var secret = await admin.CoreV1.ReadNamespacedSecretAsync(name, Namespace);
        secret.Data[key] = Encoding.UTF8.GetBytes(value);
        await admin.CoreV1.ReplaceNamespacedSecretAsync(secret, name, Namespace);
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
                var shown = last is null ? "null" : KubernetesJson.Serialize(last);
                throw new TimeoutException($"Timed out waiting for {what}; last seen: {shown}");
            }

            await Task.Delay(200);
        }
    }

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

    public async Task<IReadOnlyList<Corev1Event>> EventsAsync() =>
        (await admin.CoreV1.ListNamespacedEventAsync(Namespace)).Items.ToList();

    /// <summary>Fails when any log line or event of the run contains one of the secrets.</summary>
    public async Task AssertNothingLeakedAsync(OperatorHost host, params string[] secrets)
    {
        var events = await EventsAsync();
        var texts = host.LogLines.Concat(events.Select(e => $"{e.Reason} {e.Message}")).ToList();
        texts.Should().NotBeEmpty("the operator logs and records events while it works");
        foreach (var secret in secrets.Where(s => !string.IsNullOrEmpty(s)))
        {
            var leaks = texts.Where(t => t.Contains(secret, StringComparison.Ordinal)).ToList();
            leaks.Should().BeEmpty("no log line or event may contain a password, token or key (found {0} lines)", leaks.Count);
        }
    }
}
