using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A MutatingAdmissionPolicy that makes some Secret writes of one namespace invalid, so the API server refuses them with
/// 422, dry runs included, as a real cluster's admission policy or webhook would: a mutation the server then finds
/// invalid is the refusal whose words the policy controls (<see cref="SecretDenyPolicy"/> denies outright). Removed
/// again on dispose; a policy that is not in force as meant is removed at once, since it fails closed and would refuse
/// the other tests' writes.
/// </summary>
internal sealed class SecretRefusalPolicy : IAsyncDisposable
{
    private const string Group = "admissionregistration.k8s.io";
    private const string Version = "v1";

    /// <summary>The label key <see cref="RefuseBasicAuthAsync"/> adds; the API server's refusal quotes it.</summary>
    public const string RefusedLabel = "refused by policy";

    /// <summary>The label <see cref="QuoteValueAsync"/> sets.</summary>
    public const string QuotedLabel = "passbox.test/quoted";

    private readonly IKubernetes admin;
    private readonly string name;

    private SecretRefusalPolicy(IKubernetes admin, string name)
    {
        this.admin = admin;
        this.name = name;
    }

    /// <summary>Refuses every basic-auth Secret created in <paramref name="namespace"/> (it gets a label key no Secret may have).</summary>
    public static Task<SecretRefusalPolicy> RefuseBasicAuthAsync(IKubernetes admin, string @namespace) => InstallAsync(
        admin,
        "refuse-basic-auth-",
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
        async () =>
        {
            var probe = new V1Secret
            {
                Metadata = new V1ObjectMeta { GenerateName = "policy-probe-" },
                Type = "kubernetes.io/basic-auth",
                StringData = new Dictionary<string, string> { ["username"] = "probe", ["password"] = "probe" },
            };
            return await RefusedAsync(admin, probe, @namespace) is not null;
        });

    /// <summary>
    /// Copies one data value of one Secret (as CEL sees it there: Base64) into a label, with a space no label value may
    /// hold, on create and update: the refusal quotes the value, as a policy whose message prints <c>object.data</c> would.
    /// </summary>
    public static Task<SecretRefusalPolicy> QuoteValueAsync(IKubernetes admin, string @namespace, string secretName, string key) => InstallAsync(
        admin,
        "quote-secret-",
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
        async () =>
        {
            const string Probe = "probe value quoted";
            var probe = new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = secretName },
                Data = new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(Probe) },
            };
            var refusal = await RefusedAsync(admin, probe, @namespace);
            return refusal?.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(Probe)), StringComparison.Ordinal) == true;
        });

    public ValueTask DisposeAsync() => new(DeleteAsync(ignoreMissing: false));

    private static async Task<SecretRefusalPolicy> InstallAsync(
        IKubernetes admin, string namePrefix, string[] operations, string matchExpression, JsonObject mutation, Func<Task<bool>> inForce)
    {
        var policy = new SecretRefusalPolicy(admin, ClusterTestKit.Unique(namePrefix));
        await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Policy(operations, matchExpression, mutation), Group, Version, "mutatingadmissionpolicies");
        try
        {
            await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Binding(), Group, Version, "mutatingadmissionpolicybindings");
            // The policy reaches admission through an informer: dry-run writes show when it is in force.
            await ClusterTestKit.EventuallyAsync(inForce, refused => refused, $"policy {policy.name} to be in force");
            return policy;
        }
        catch
        {
            await policy.DeleteAsync(ignoreMissing: true);
            throw;
        }
    }

    /// <summary>The API server's answer when it refuses a dry-run create of <paramref name="probe"/> as invalid; null when it takes it.</summary>
    private static async Task<string?> RefusedAsync(IKubernetes admin, V1Secret probe, string @namespace)
    {
        try
        {
            await admin.CoreV1.CreateNamespacedSecretAsync(probe, @namespace, dryRun: "All");
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.UnprocessableEntity)
        {
            return e.Response.Content;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // The named Secret exists already; a dry-run create says nothing about the policy then, so ask again.
            return null;
        }
    }

    private async Task DeleteAsync(bool ignoreMissing)
    {
        foreach (var plural in new[] { "mutatingadmissionpolicybindings", "mutatingadmissionpolicies" })
        {
            try
            {
                await admin.CustomObjects.DeleteClusterCustomObjectAsync(Group, Version, plural, name);
            }
            catch (HttpOperationException e) when (ignoreMissing && e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }
    }

    private JsonObject Policy(string[] operations, string matchExpression, JsonObject mutation) => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "MutatingAdmissionPolicy",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["matchConstraints"] = new JsonObject
            {
                ["matchPolicy"] = "Equivalent",
                ["namespaceSelector"] = new JsonObject(),
                ["objectSelector"] = new JsonObject(),
                ["resourceRules"] = new JsonArray(new JsonObject
                {
                    ["apiGroups"] = new JsonArray(""),
                    ["apiVersions"] = new JsonArray("v1"),
                    ["operations"] = new JsonArray([.. operations.Select(o => JsonValue.Create(o))]),
                    ["resources"] = new JsonArray("secrets"),
                }),
            },
            ["matchConditions"] = new JsonArray(new JsonObject { ["name"] = "these-secrets-only", ["expression"] = matchExpression }),
            ["failurePolicy"] = "Fail",
            ["reinvocationPolicy"] = "Never",
            ["mutations"] = new JsonArray(mutation),
        },
    };

    private JsonObject Binding() => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "MutatingAdmissionPolicyBinding",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject { ["policyName"] = name },
    };
}
