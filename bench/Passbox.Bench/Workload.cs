using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Bench;

/// <summary>The MariaDB logins the credentials use: a few users, each with its source Secret.</summary>
public sealed record DbUser(string Name, string Password)
{
    public string SecretName => $"src-{Name.Replace('_', '-')}";
}

/// <summary>What a user applies: source Secrets, ClusterCredentials, Pods, and unrelated noise.</summary>
public static class Objects
{
    public static readonly ResourceDescriptor Credentials = ResourceDescriptor.For<ClusterCredential>();

    public static JsonObject SourceSecret(DbUser user) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = new JsonObject { ["name"] = user.SecretName },
        ["stringData"] = new JsonObject { ["password"] = user.Password },
    };

    public static JsonObject Credential(string name, DbUser user, MariaDb db, string interval) => new()
    {
        ["apiVersion"] = ApiGroup.ApiVersion,
        ["kind"] = ClusterCredential.KindName,
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["engine"] = "MySQL",
            ["endpoint"] = new JsonObject
            {
                ["host"] = db.Host,
                ["port"] = db.Port,
                ["tls"] = new JsonObject { ["mode"] = "Disabled" },
            },
            ["username"] = user.Name,
            ["passwordSecretRef"] = new JsonObject { ["name"] = user.SecretName, ["key"] = "password" },
            ["validation"] = new JsonObject { ["interval"] = interval },
        },
    };

    /// <summary>A Pod that mounts <paramref name="secretName"/> and reads a key of it into the environment.</summary>
    public static JsonObject Pod(string name, string secretName, string key) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "bench" } },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "app",
                ["image"] = "registry.example/app:1.0",
                ["env"] = new JsonArray(new JsonObject
                {
                    ["name"] = "PASSWORD",
                    ["valueFrom"] = new JsonObject { ["secretKeyRef"] = new JsonObject { ["name"] = secretName, ["key"] = key } },
                }),
                ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "creds", ["mountPath"] = "/creds" }),
            }),
            ["volumes"] = new JsonArray(new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = secretName } }),
        },
    };

    /// <summary>An unrelated Secret of about 2 KB, like a TLS pair or an application config.</summary>
    public static JsonObject NoiseSecret(string name)
    {
        var filler = Convert.ToBase64String(Encoding.ASCII.GetBytes(new string('x', 1000)));
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app"] = "noise" } },
            ["data"] = new JsonObject { ["tls.crt"] = filler, ["tls.key"] = filler },
        };
    }
}

/// <summary>Applies many objects at once with parallel requests.</summary>
public static class Bulk
{
    public const int Parallelism = 32;

    /// <summary>POSTs each item and returns the clock time at which each create returned, by name.</summary>
    public static async Task<ConcurrentDictionary<string, double>> CreateAsync(
        KubernetesApiClient api, ResourceDescriptor resource, string ns, IEnumerable<JsonObject> items, int parallelism = Parallelism, Action<string>? onCreated = null)
    {
        var created = new ConcurrentDictionary<string, double>();
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (item, ct) =>
        {
            var name = item["metadata"]!["name"]!.GetValue<string>();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await api.PostAsync<JsonNode>(resource.CollectionPath(ns), item, ct);
                    break;
                }
                catch (KubernetesApiException e) when (attempt < 5 && ((int)e.StatusCode >= 500 || (int)e.StatusCode == 429))
                {
                    await Task.Delay(200 * attempt, ct);
                }
            }

            created[name] = Clock.Now;
            onCreated?.Invoke(name);
        });
        return created;
    }

    public static async Task DeleteCollectionAsync(KubernetesApiClient api, ResourceDescriptor resource, string ns)
    {
        using var response = await api.SendAsync(HttpMethod.Delete, resource.CollectionPath(ns), null, "application/json", false, CancellationToken.None);
        await KubernetesApiClient.EnsureSuccessAsync(response, CancellationToken.None);
    }

    public static async Task DeleteAsync(KubernetesApiClient api, ResourceDescriptor resource, string ns, string name)
    {
        using var response = await api.SendAsync(HttpMethod.Delete, $"{resource.CollectionPath(ns)}/{name}?gracePeriodSeconds=0", null, "application/json", false, CancellationToken.None);
        await KubernetesApiClient.EnsureSuccessAsync(response, CancellationToken.None);
    }
}

/// <summary>
/// Watches the credentials of one namespace and notes, per name, the clock time at which it was first seen
/// Ready, first seen with a DeletionBlocked condition, and seen deleted.
/// </summary>
public sealed class CredentialTracker : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? loop;

    public ConcurrentDictionary<string, double> Ready { get; } = new();

    public ConcurrentDictionary<string, double> Blocked { get; } = new();

    public ConcurrentDictionary<string, double> UsedBy { get; } = new();

    public ConcurrentDictionary<string, double> Deleted { get; } = new();

    public static async Task<CredentialTracker> StartAsync(KubernetesApiClient api, string ns)
    {
        var tracker = new CredentialTracker();
        tracker.loop = Task.Run(() => tracker.RunAsync(api, ns));
        // A watch that fails before it starts must fail the run, not leave it waiting.
        await Task.WhenAny(tracker.started.Task, tracker.loop);
        if (tracker.loop.IsFaulted)
        {
            await tracker.loop;
        }
        return tracker;
    }

    public async Task WaitAsync(Func<bool> done, double timeoutSeconds, string what)
    {
        var deadline = Clock.Now + timeoutSeconds;
        while (!done())
        {
            if (loop is { IsFaulted: true })
            {
                await loop;
            }

            if (Clock.Now > deadline)
            {
                throw new TimeoutException($"timed out after {timeoutSeconds} s waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
                // Stopped on purpose.
            }
        }

        stop.Dispose();
    }

    private async Task RunAsync(KubernetesApiClient api, string ns)
    {
        var path = Objects.Credentials.CollectionPath(ns);
        var list = await api.GetAsync<JsonNode>($"{path}?limit=1", stop.Token);
        var version = list["metadata"]!["resourceVersion"]!.GetValue<string>();
        while (!stop.IsCancellationRequested)
        {
            using var response = await api.SendAsync(HttpMethod.Get, $"{path}?watch=true&allowWatchBookmarks=true&timeoutSeconds=3600&resourceVersion={version}",
                null, "application/json", streaming: true, stop.Token);
            if (response.StatusCode == System.Net.HttpStatusCode.TooManyRequests)
            {
                // With the watch cache on, a CRD created a moment ago is answered 429 until its cache has filled.
                await Task.Delay(TimeSpan.FromMilliseconds(500), stop.Token);
                continue;
            }

            await KubernetesApiClient.EnsureSuccessAsync(response, stop.Token);
            started.TrySetResult();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                var now = Clock.Now;
                var change = JsonNode.Parse(line)!;
                var type = change["type"]!.GetValue<string>();
                var item = change["object"]!;
                if (type == "ERROR")
                {
                    throw new InvalidOperationException($"credential watch failed: {line}");
                }

                version = item["metadata"]!["resourceVersion"]!.GetValue<string>();
                if (type == "BOOKMARK")
                {
                    continue;
                }

                var name = item["metadata"]!["name"]!.GetValue<string>();
                if (type == "DELETED")
                {
                    Deleted.TryAdd(name, now);
                    continue;
                }

                foreach (var condition in item["status"]?["conditions"]?.AsArray() ?? [])
                {
                    var conditionType = condition!["type"]?.GetValue<string>();
                    var isTrue = condition["status"]?.GetValue<string>() == "True";
                    if (isTrue && conditionType == "Ready")
                    {
                        Ready.TryAdd(name, now);
                    }
                    else if (isTrue && conditionType == "DeletionBlocked")
                    {
                        Blocked.TryAdd(name, now);
                    }
                }

                if (item["status"]?["usedBy"]?["count"]?.GetValue<int>() > 0)
                {
                    UsedBy.TryAdd(name, now);
                }
            }
        }
    }
}
