using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A real cluster's refusals of one Secret's writes, by the control plane's own admission plugins: a
/// ValidatingAdmissionPolicy that denies them (<see cref="DenyAsync"/>), or a ValidatingWebhookConfiguration with
/// failurePolicy Fail whose webhook cannot be reached (<see cref="UnreachableWebhookAsync"/>). Each matches only
/// create and update of one Secret name in one namespace (match conditions), so other tests sharing the control plane
/// are never refused; it is waited for with dry runs, and removed on dispose (at once when it never came in force).
/// </summary>
internal sealed class SecretDenyPolicy : IAsyncDisposable
{
    private const string Group = "admissionregistration.k8s.io";
    private const string Version = "v1";

    private readonly IKubernetes admin;
    private readonly string[] plurals;
    private bool removed;

    private SecretDenyPolicy(IKubernetes admin, string name, params string[] plurals)
    {
        this.admin = admin;
        Name = name;
        this.plurals = plurals;
    }

    /// <summary>The policy's (and its binding's, or the webhook configuration's) name; the API server's refusal names it.</summary>
    public string Name { get; }

    /// <summary>Denies (validationActions Deny) create and update of Secret <paramref name="secretName"/> with <paramref name="message"/>.</summary>
    public static async Task<SecretDenyPolicy> DenyAsync(IKubernetes admin, string @namespace, string secretName, string message)
    {
        var policy = new SecretDenyPolicy(admin, ClusterTestKit.Unique("deny-secret-"), "validatingadmissionpolicybindings", "validatingadmissionpolicies");
        await policy.InstallAsync(
            async () =>
            {
                await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Policy(@namespace, secretName, message), Group, Version, "validatingadmissionpolicies");
                await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Binding(), Group, Version, "validatingadmissionpolicybindings");
            },
            @namespace,
            secretName,
            refusal => refusal.Contains(policy.Name, StringComparison.Ordinal) && refusal.Contains(message, StringComparison.Ordinal));
        return policy;
    }

    /// <summary>
    /// A webhook at a loopback https address where nothing listens (failurePolicy Fail): every create and update of
    /// Secret <paramref name="secretName"/> fails with "failed calling webhook", as when a webhook's Pods are down.
    /// </summary>
    public static async Task<SecretDenyPolicy> UnreachableWebhookAsync(IKubernetes admin, string @namespace, string secretName)
    {
        var policy = new SecretDenyPolicy(admin, ClusterTestKit.Unique("down-webhook-"), "validatingwebhookconfigurations");
        await policy.InstallAsync(
            () => admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Webhook(@namespace, secretName, ClosedLoopbackPort()), Group, Version, "validatingwebhookconfigurations"),
            @namespace,
            secretName,
            refusal => refusal.Contains("failed calling webhook", StringComparison.Ordinal) && refusal.Contains(policy.Name, StringComparison.Ordinal));
        return policy;
    }

    public async ValueTask DisposeAsync()
    {
        if (!removed)
        {
            await DeleteAsync(ignoreMissing: false);
        }
    }

    /// <summary>Removes it now (before dispose), e.g. to see the operator recover.</summary>
    public async Task DeleteAsync()
    {
        await DeleteAsync(ignoreMissing: false);
        removed = true;
    }

    private async Task InstallAsync(Func<Task> create, string @namespace, string secretName, Func<string, bool> inForce)
    {
        try
        {
            await create();
            // Admission reads these through informers: dry-run writes show when it is in force.
            await ClusterTestKit.EventuallyAsync(() => RefusedAsync(admin, @namespace, secretName), refusal => refusal is not null && inForce(refusal), $"{Name} to be in force");
        }
        catch
        {
            await DeleteAsync(ignoreMissing: true);
            throw;
        }
    }

    /// <summary>
    /// The API server's answer to a dry-run write of Secret <paramref name="secretName"/> (an update when it exists, so a
    /// published Secret is probed as the operator's next write will be); null when it takes it.
    /// </summary>
    private static async Task<string?> RefusedAsync(IKubernetes admin, string @namespace, string secretName)
    {
        try
        {
            var existing = await TryReadAsync(admin, @namespace, secretName);
            if (existing is null)
            {
                await admin.CoreV1.CreateNamespacedSecretAsync(
                    new V1Secret { Metadata = new V1ObjectMeta { Name = secretName }, StringData = new Dictionary<string, string> { ["probe"] = "probe" } },
                    @namespace,
                    dryRun: "All");
            }
            else
            {
                await admin.CoreV1.ReplaceNamespacedSecretAsync(existing, secretName, @namespace, dryRun: "All");
            }

            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is not HttpStatusCode.NotFound and not HttpStatusCode.Conflict)
        {
            return e.Response.Content;
        }
    }

    private static async Task<V1Secret?> TryReadAsync(IKubernetes admin, string @namespace, string name)
    {
        try
        {
            return await admin.CoreV1.ReadNamespacedSecretAsync(name, @namespace);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A loopback port nothing listens on: taken from the system, then let go.</summary>
    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task DeleteAsync(bool ignoreMissing)
    {
        foreach (var plural in plurals)
        {
            try
            {
                await admin.CustomObjects.DeleteClusterCustomObjectAsync(Group, Version, plural, Name);
            }
            catch (HttpOperationException e) when (ignoreMissing && e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }
    }

    private static JsonObject SecretRules() => new()
    {
        ["apiGroups"] = new JsonArray(""),
        ["apiVersions"] = new JsonArray("v1"),
        ["operations"] = new JsonArray("CREATE", "UPDATE"),
        ["resources"] = new JsonArray("secrets"),
    };

    private static JsonArray ThisSecretOnly(string @namespace, string secretName) => new(new JsonObject
    {
        ["name"] = "this-secret-only",
        ["expression"] = $"request.namespace == '{@namespace}' && request.name == '{secretName}'",
    });

    private JsonObject Policy(string @namespace, string secretName, string message) => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "ValidatingAdmissionPolicy",
        ["metadata"] = new JsonObject { ["name"] = Name },
        ["spec"] = new JsonObject
        {
            ["matchConstraints"] = new JsonObject
            {
                ["matchPolicy"] = "Equivalent",
                ["namespaceSelector"] = new JsonObject(),
                ["objectSelector"] = new JsonObject(),
                ["resourceRules"] = new JsonArray(SecretRules()),
            },
            ["matchConditions"] = ThisSecretOnly(@namespace, secretName),
            ["failurePolicy"] = "Fail",
            ["validations"] = new JsonArray(new JsonObject { ["expression"] = "false", ["message"] = message }),
        },
    };

    private JsonObject Binding() => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "ValidatingAdmissionPolicyBinding",
        ["metadata"] = new JsonObject { ["name"] = Name },
        ["spec"] = new JsonObject { ["policyName"] = Name, ["validationActions"] = new JsonArray("Deny") },
    };

    private JsonObject Webhook(string @namespace, string secretName, int port) => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "ValidatingWebhookConfiguration",
        ["metadata"] = new JsonObject { ["name"] = Name },
        ["webhooks"] = new JsonArray(new JsonObject
        {
            ["name"] = $"{Name}.passbox.test",
            ["clientConfig"] = new JsonObject { ["url"] = $"https://127.0.0.1:{port}/validate" },
            ["rules"] = new JsonArray(SecretRules()),
            ["matchPolicy"] = "Equivalent",
            ["namespaceSelector"] = new JsonObject(),
            ["objectSelector"] = new JsonObject(),
            ["matchConditions"] = ThisSecretOnly(@namespace, secretName),
            ["failurePolicy"] = "Fail",
            // None, or the API server refuses dry runs (the operator's and ours) before calling it.
            ["sideEffects"] = "None",
            ["admissionReviewVersions"] = new JsonArray("v1"),
            ["timeoutSeconds"] = 5,
        }),
    };
}
