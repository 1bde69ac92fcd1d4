using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A MutatingAdmissionPolicy that makes every basic-auth Secret created in one namespace invalid (it gives it a label
/// key no Secret may have), so the API server refuses such creates with 422, dry runs included, as a real cluster's
/// admission policy or webhook would. Removed again on dispose.
/// </summary>
internal sealed class BasicAuthRefusalPolicy : IAsyncDisposable
{
    private const string Group = "admissionregistration.k8s.io";
    private const string Version = "v1";

    /// <summary>The label key the policy adds; the API server's refusal quotes it.</summary>
    public const string RefusedLabel = "refused by policy";

    private readonly IKubernetes admin;
    private readonly string name;

    private BasicAuthRefusalPolicy(IKubernetes admin, string name)
    {
        this.admin = admin;
        this.name = name;
    }

    public static async Task<BasicAuthRefusalPolicy> InstallAsync(IKubernetes admin, string @namespace)
    {
        var policy = new BasicAuthRefusalPolicy(admin, ClusterTestKit.Unique("refuse-basic-auth-"));
        await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Policy(@namespace), Group, Version, "mutatingadmissionpolicies");
        try
        {
            await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Binding(), Group, Version, "mutatingadmissionpolicybindings");
            await policy.WaitInForceAsync(@namespace);
            return policy;
        }
        catch
        {
            // A policy that fails closed and is not in force as meant would refuse the other tests' writes.
            await policy.DeleteAsync(ignoreMissing: true);
            throw;
        }
    }

    public ValueTask DisposeAsync() => new(DeleteAsync(ignoreMissing: false));

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

    private JsonObject Policy(string @namespace) => new()
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
                    ["operations"] = new JsonArray("CREATE"),
                    ["resources"] = new JsonArray("secrets"),
                }),
            },
            ["matchConditions"] = new JsonArray(new JsonObject
            {
                ["name"] = "basic-auth-in-namespace",
                ["expression"] = $"request.namespace == '{@namespace}' && object.type == 'kubernetes.io/basic-auth'",
            }),
            ["failurePolicy"] = "Fail",
            ["reinvocationPolicy"] = "Never",
            ["mutations"] = new JsonArray(new JsonObject
            {
                ["patchType"] = "JSONPatch",
                ["jsonPatch"] = new JsonObject
                {
                    ["expression"] = $"[JSONPatch{{op: \"add\", path: \"/metadata/labels\", value: {{\"{RefusedLabel}\": \"x\"}}}}]",
                },
            }),
        },
    };

    private JsonObject Binding() => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "MutatingAdmissionPolicyBinding",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject { ["policyName"] = name },
    };

    /// <summary>The policy reaches admission through an informer: dry-run creates show when it is in force.</summary>
    private Task<bool> WaitInForceAsync(string @namespace) => ClusterTestKit.EventuallyAsync(
        async () =>
        {
            var probe = new V1Secret
            {
                Metadata = new V1ObjectMeta { GenerateName = "policy-probe-" },
                Type = "kubernetes.io/basic-auth",
                StringData = new Dictionary<string, string> { ["username"] = "probe", ["password"] = "probe" },
            };
            try
            {
                await admin.CoreV1.CreateNamespacedSecretAsync(probe, @namespace, dryRun: "All");
                return false;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.UnprocessableEntity)
            {
                return true;
            }
        },
        inForce => inForce,
        $"policy {name} to refuse basic-auth Secrets");
}
