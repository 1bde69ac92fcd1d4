using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A real cluster's refusals of Secret writes, by the control plane's own admission plugins: a ValidatingAdmissionPolicy
/// that denies them (<see cref="DenyAsync"/>), a ValidatingWebhookConfiguration whose webhook cannot be reached
/// (<see cref="UnreachableWebhookAsync"/>), or a MutatingAdmissionPolicy whose mutation makes the Secret invalid
/// (<see cref="RefuseBasicAuthAsync"/>, <see cref="QuoteValueAsync"/>). Each matches only Secrets of one namespace
/// (match conditions), so other tests sharing the control plane are never refused; each fails closed, so it is waited
/// for with dry runs and removed on dispose, or at once when it never came in force.
/// </summary>
internal sealed class SecretAdmission : IAsyncDisposable
{
    private const string Group = "admissionregistration.k8s.io";
    private const string Version = "v1";

    /// <summary>The label key <see cref="RefuseBasicAuthAsync"/> adds; the API server's refusal quotes it.</summary>
    public const string RefusedLabel = "refused by policy";

    /// <summary>The label <see cref="QuoteValueAsync"/> sets.</summary>
    public const string QuotedLabel = "passbox.test/quoted";

    private readonly IKubernetes admin;
    private readonly string[] plurals;
    private bool removed;

    private SecretAdmission(IKubernetes admin, string name, params string[] plurals)
    {
        this.admin = admin;
        Name = name;
        this.plurals = plurals;
    }

    /// <summary>The policy's (and its binding's, or the webhook configuration's) name; the API server's refusal names it.</summary>
    public string Name { get; }

    /// <summary>Denies (validationActions Deny) create and update of Secret <paramref name="secretName"/> with <paramref name="message"/>.</summary>
    public static async Task<SecretAdmission> DenyAsync(IKubernetes admin, string @namespace, string secretName, string message)
    {
        var policy = new SecretAdmission(admin, ClusterTestKit.Unique("deny-secret-"), "validatingadmissionpolicybindings", "validatingadmissionpolicies");
        await policy.InstallAsync(
            async () =>
            {
                var spec = PolicySpec(["CREATE", "UPDATE"], ThisSecretOnly(@namespace, secretName));
                spec["validations"] = new JsonArray(new JsonObject { ["expression"] = "false", ["message"] = message });
                await policy.CreatePolicyAsync("ValidatingAdmissionPolicy", "validatingadmissionpolicies", spec);
                await policy.CreateBindingAsync("ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", new JsonObject { ["validationActions"] = new JsonArray("Deny") });
            },
            () => RefusedUpdateOrCreateAsync(admin, @namespace, secretName),
            refusal => refusal.Contains(policy.Name, StringComparison.Ordinal) && refusal.Contains(message, StringComparison.Ordinal));
        return policy;
    }

    /// <summary>
    /// Denies updates of Secret <paramref name="secretName"/> that change its data, with <paramref name="message"/>; its
    /// creation, and updates of its metadata alone (a finalizer taken off), go through, as with a policy that keeps
    /// published credentials from changing in place.
    /// </summary>
    public static async Task<SecretAdmission> DenyDataChangesAsync(IKubernetes admin, string @namespace, string secretName, string message)
    {
        var policy = new SecretAdmission(admin, ClusterTestKit.Unique("freeze-secret-"), "validatingadmissionpolicybindings", "validatingadmissionpolicies");
        await policy.InstallAsync(
            async () =>
            {
                var spec = PolicySpec(["UPDATE"], ThisSecretOnly(@namespace, secretName));
                spec["validations"] = new JsonArray(new JsonObject
                {
                    ["expression"] = "has(object.data) == has(oldObject.data) && (!has(object.data) || object.data == oldObject.data)",
                    ["message"] = message,
                });
                await policy.CreatePolicyAsync("ValidatingAdmissionPolicy", "validatingadmissionpolicies", spec);
                await policy.CreateBindingAsync("ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", new JsonObject { ["validationActions"] = new JsonArray("Deny") });
            },
            async () => await TryReadAsync(admin, @namespace, secretName) is { } existing
                ? await RefusedAsync(() =>
                {
                    existing.Data ??= new Dictionary<string, byte[]>();
                    existing.Data["probe"] = Encoding.UTF8.GetBytes("probe");
                    return admin.CoreV1.ReplaceNamespacedSecretAsync(existing, secretName, @namespace, dryRun: "All");
                })
                : null,
            refusal => refusal.Contains(policy.Name, StringComparison.Ordinal) && refusal.Contains(message, StringComparison.Ordinal));
        return policy;
    }

    /// <summary>
    /// Like <see cref="DenyDataChangesAsync"/>, with a message (a messageExpression) that prints the value under
    /// <paramref name="key"/> the Secret holds before the update (<c>oldObject.data</c>), as a policy saying what may not
    /// change would: in force once a probe's refusal quotes <paramref name="held"/>, plain or Base64 (whichever CEL gives),
    /// so the operator's refusal is sure to carry the value being replaced. The probe's refusal is kept with that value
    /// replaced by <see cref="HeldMarker"/>, so a timed-out wait does not print it.
    /// </summary>
    public static async Task<SecretAdmission> DenyDataChangesQuotingHeldValueAsync(IKubernetes admin, string @namespace, string secretName, string key, string held)
    {
        var policy = new SecretAdmission(admin, ClusterTestKit.Unique("keep-secret-"), "validatingadmissionpolicybindings", "validatingadmissionpolicies");
        var heldBase64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(held));
        await policy.InstallAsync(
            async () =>
            {
                var spec = PolicySpec(["UPDATE"], ThisSecretOnly(@namespace, secretName));
                spec["validations"] = new JsonArray(new JsonObject
                {
                    ["expression"] = "has(object.data) == has(oldObject.data) && (!has(object.data) || object.data == oldObject.data)",
                    ["messageExpression"] = $"'{key} may not change from ' + string(oldObject.data['{key}'])",
                });
                await policy.CreatePolicyAsync("ValidatingAdmissionPolicy", "validatingadmissionpolicies", spec);
                await policy.CreateBindingAsync("ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", new JsonObject { ["validationActions"] = new JsonArray("Deny") });
            },
            async () => await TryReadAsync(admin, @namespace, secretName) is { } existing
                ? (await RefusedAsync(() =>
                {
                    existing.Data ??= new Dictionary<string, byte[]>();
                    existing.Data["probe"] = Encoding.UTF8.GetBytes("probe");
                    return admin.CoreV1.ReplaceNamespacedSecretAsync(existing, secretName, @namespace, dryRun: "All");
                }))?.Replace(heldBase64, HeldMarker, StringComparison.Ordinal).Replace(held, HeldMarker, StringComparison.Ordinal)
                : null,
            refusal => refusal.Contains(policy.Name, StringComparison.Ordinal) && refusal.Contains($"{key} may not change from {HeldMarker}", StringComparison.Ordinal));
        return policy;
    }

    /// <summary>What a probe's refusal shows in place of the held value it quotes.</summary>
    public const string HeldMarker = "<held value>";

    /// <summary>
    /// A webhook at a loopback https address where nothing listens (failurePolicy Fail): every create and update of
    /// Secret <paramref name="secretName"/> fails with "failed calling webhook", as when a webhook's Pods are down.
    /// </summary>
    public static async Task<SecretAdmission> UnreachableWebhookAsync(IKubernetes admin, string @namespace, string secretName)
    {
        var policy = new SecretAdmission(admin, ClusterTestKit.Unique("down-webhook-"), "validatingwebhookconfigurations");
        await policy.InstallAsync(
            () => admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Webhook(@namespace, secretName, ClosedLoopbackPort()), Group, Version, "validatingwebhookconfigurations"),
            () => RefusedUpdateOrCreateAsync(admin, @namespace, secretName),
            refusal => refusal.Contains("failed calling webhook", StringComparison.Ordinal) && refusal.Contains(policy.Name, StringComparison.Ordinal));
        return policy;
    }

    /// <summary>Makes every basic-auth Secret created in <paramref name="namespace"/> invalid (a label key no Secret may have): 422.</summary>
    public static async Task<SecretAdmission> RefuseBasicAuthAsync(IKubernetes admin, string @namespace)
    {
        var policy = new SecretAdmission(admin, ClusterTestKit.Unique("refuse-basic-auth-"), "mutatingadmissionpolicybindings", "mutatingadmissionpolicies");
        var probe = new V1Secret
        {
            Metadata = new V1ObjectMeta { GenerateName = "policy-probe-" },
            Type = "kubernetes.io/basic-auth",
            StringData = new Dictionary<string, string> { ["username"] = "probe", ["password"] = "probe" },
        };
        await policy.InstallMutatingAsync(
            ["CREATE"],
            $"request.namespace == '{@namespace}' && object.type == 'kubernetes.io/basic-auth'",
            new JsonObject
            {
                ["patchType"] = "JSONPatch",
                ["jsonPatch"] = new JsonObject
                {
                    ["expression"] = $"[JSONPatch{{op: \"add\", path: \"/metadata/labels\", value: {{\"{RefusedLabel}\": \"x\"}}}}]",
                },
            },
            () => RefusedCreateAsync(admin, @namespace, probe),
            refusal => refusal.Contains(RefusedLabel, StringComparison.Ordinal));
        return policy;
    }

    /// <summary>
    /// Copies one data value of one Secret (as CEL sees it there: Base64) into a label, with a space no label value may
    /// hold, on create and update: the refusal quotes the value, as a policy whose message prints <c>object.data</c> would.
    /// </summary>
    public static async Task<SecretAdmission> QuoteValueAsync(IKubernetes admin, string @namespace, string secretName, string key)
    {
        const string ProbeValue = "probe value quoted";
        var policy = new SecretAdmission(admin, ClusterTestKit.Unique("quote-secret-"), "mutatingadmissionpolicybindings", "mutatingadmissionpolicies");
        // A create, even of a Secret that exists: admission refuses it before the store would find the name taken, and
        // the probe's own value (not the published one) is what the refusal quotes.
        var probe = new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = secretName },
            Data = new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(ProbeValue) },
        };
        await policy.InstallMutatingAsync(
            ["CREATE", "UPDATE"],
            $"request.namespace == '{@namespace}' && object.metadata.name == '{secretName}' && has(object.data) && '{key}' in object.data",
            new JsonObject
            {
                ["patchType"] = "ApplyConfiguration",
                ["applyConfiguration"] = new JsonObject
                {
                    ["expression"] = $"Object{{metadata: Object.metadata{{labels: {{\"{QuotedLabel}\": string(object.data['{key}']) + \" is quoted\"}}}}}}",
                },
            },
            () => RefusedCreateAsync(admin, @namespace, probe),
            refusal => refusal.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(ProbeValue)), StringComparison.Ordinal));
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

    private Task InstallMutatingAsync(string[] operations, string matchExpression, JsonObject mutation, Func<Task<string?>> probe, Func<string, bool> inForce) =>
        InstallAsync(
            async () =>
            {
                var spec = PolicySpec(operations, new JsonArray(new JsonObject { ["name"] = "these-secrets-only", ["expression"] = matchExpression }));
                spec["reinvocationPolicy"] = "Never";
                spec["mutations"] = new JsonArray(mutation);
                await CreatePolicyAsync("MutatingAdmissionPolicy", "mutatingadmissionpolicies", spec);
                await CreateBindingAsync("MutatingAdmissionPolicyBinding", "mutatingadmissionpolicybindings", new JsonObject());
            },
            probe,
            inForce);

    private async Task InstallAsync(Func<Task> create, Func<Task<string?>> probe, Func<string, bool> inForce)
    {
        try
        {
            await create();
            // Admission reads these through informers: dry-run writes show when it is in force.
            await ClusterTestKit.EventuallyAsync(probe, refusal => refusal is not null && inForce(refusal), $"{Name} to be in force");
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
    private static async Task<string?> RefusedUpdateOrCreateAsync(IKubernetes admin, string @namespace, string secretName)
    {
        var existing = await TryReadAsync(admin, @namespace, secretName);
        return existing is null
            ? await RefusedCreateAsync(admin, @namespace, new V1Secret { Metadata = new V1ObjectMeta { Name = secretName }, StringData = new Dictionary<string, string> { ["probe"] = "probe" } })
            : await RefusedAsync(() => admin.CoreV1.ReplaceNamespacedSecretAsync(existing, secretName, @namespace, dryRun: "All"));
    }

    private static Task<string?> RefusedCreateAsync(IKubernetes admin, string @namespace, V1Secret probe) =>
        RefusedAsync(() => admin.CoreV1.CreateNamespacedSecretAsync(probe, @namespace, dryRun: "All"));

    /// <summary>The refusal's body, or null when the write was taken (or raced with another: 404, 409; asked again).</summary>
    private static async Task<string?> RefusedAsync(Func<Task<V1Secret>> dryRun)
    {
        try
        {
            await dryRun();
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return null;
        }
        catch (HttpOperationException e)
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

    private static JsonObject SecretRules(string[] operations) => new()
    {
        ["apiGroups"] = new JsonArray(""),
        ["apiVersions"] = new JsonArray("v1"),
        ["operations"] = new JsonArray([.. operations.Select(o => JsonValue.Create(o))]),
        ["resources"] = new JsonArray("secrets"),
    };

    private static JsonArray ThisSecretOnly(string @namespace, string secretName) => new(new JsonObject
    {
        ["name"] = "this-secret-only",
        ["expression"] = $"request.namespace == '{@namespace}' && request.name == '{secretName}'",
    });

    /// <summary>The part of a policy's spec both kinds share: what it matches; it fails closed.</summary>
    private static JsonObject PolicySpec(string[] operations, JsonArray matchConditions) => new()
    {
        ["matchConstraints"] = new JsonObject
        {
            ["matchPolicy"] = "Equivalent",
            ["namespaceSelector"] = new JsonObject(),
            ["objectSelector"] = new JsonObject(),
            ["resourceRules"] = new JsonArray(SecretRules(operations)),
        },
        ["matchConditions"] = matchConditions,
        ["failurePolicy"] = "Fail",
    };

    private Task<object> CreatePolicyAsync(string kind, string plural, JsonObject spec) => admin.CustomObjects.CreateClusterCustomObjectAsync(
        new JsonObject { ["apiVersion"] = $"{Group}/{Version}", ["kind"] = kind, ["metadata"] = new JsonObject { ["name"] = Name }, ["spec"] = spec },
        Group,
        Version,
        plural);

    private Task<object> CreateBindingAsync(string kind, string plural, JsonObject spec)
    {
        spec["policyName"] = Name;
        return CreatePolicyAsync(kind, plural, spec);
    }

    private JsonObject Webhook(string @namespace, string secretName, int port) => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "ValidatingWebhookConfiguration",
        ["metadata"] = new JsonObject { ["name"] = Name },
        ["webhooks"] = new JsonArray(new JsonObject
        {
            ["name"] = $"{Name}.passbox.test",
            ["clientConfig"] = new JsonObject { ["url"] = $"https://127.0.0.1:{port}/validate" },
            ["rules"] = new JsonArray(SecretRules(["CREATE", "UPDATE"])),
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
