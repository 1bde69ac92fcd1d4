using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// A MutatingAdmissionPolicy that copies one data value of one Secret (as CEL sees it there: Base64) into a label, with a
/// space no label value may hold, on create and update: the API server refuses the write with 422, and its refusal quotes
/// the value, as a policy
/// whose message prints <c>object.data</c> would. (The test control plane runs no ValidatingAdmissionPolicy or webhooks;
/// this is the refusal quoting a Secret's data it can give.) Scoped to the name; removed on dispose.
/// </summary>
internal sealed class QuotingRefusalPolicy : IAsyncDisposable
{
    private const string Group = "admissionregistration.k8s.io";
    private const string Version = "v1";

    /// <summary>The label the policy sets.</summary>
    public const string QuotedLabel = "passbox.test/quoted";

    private readonly IKubernetes admin;
    private readonly string name;

    private QuotingRefusalPolicy(IKubernetes admin, string name)
    {
        this.admin = admin;
        this.name = name;
    }

    public static async Task<QuotingRefusalPolicy> InstallAsync(IKubernetes admin, string @namespace, string secretName, string key)
    {
        var policy = new QuotingRefusalPolicy(admin, ClusterTestKit.Unique("quote-secret-"));
        await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Policy(@namespace, secretName, key), Group, Version, "mutatingadmissionpolicies");
        try
        {
            await admin.CustomObjects.CreateClusterCustomObjectAsync(policy.Binding(), Group, Version, "mutatingadmissionpolicybindings");
            await policy.WaitInForceAsync(@namespace, secretName, key);
            return policy;
        }
        catch
        {
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

    private JsonObject Policy(string @namespace, string secretName, string key) => new()
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
                    ["operations"] = new JsonArray("CREATE", "UPDATE"),
                    ["resources"] = new JsonArray("secrets"),
                }),
            },
            ["matchConditions"] = new JsonArray(new JsonObject
            {
                ["name"] = "this-secret-only",
                ["expression"] = $"request.namespace == '{@namespace}' && object.metadata.name == '{secretName}' && has(object.data) && '{key}' in object.data",
            }),
            ["failurePolicy"] = "Fail",
            ["reinvocationPolicy"] = "Never",
            ["mutations"] = new JsonArray(new JsonObject
            {
                ["patchType"] = "ApplyConfiguration",
                ["applyConfiguration"] = new JsonObject
                {
                    ["expression"] = $"Object{{metadata: Object.metadata{{labels: {{\"{QuotedLabel}\": string(object.data['{key}']) + \" is quoted\"}}}}}}",
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

    /// <summary>In force once a dry-run create of that Secret is refused quoting the probe's value.</summary>
    private Task<bool> WaitInForceAsync(string @namespace, string secretName, string key) => ClusterTestKit.EventuallyAsync(
        async () =>
        {
            const string Probe = "probe value quoted";
            var probe = new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = secretName },
                Data = new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(Probe) },
            };
            try
            {
                await admin.CoreV1.CreateNamespacedSecretAsync(probe, @namespace, dryRun: "All");
                return false;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.UnprocessableEntity)
            {
                return e.Response.Content.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(Probe)), StringComparison.Ordinal);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                return false;
            }
        },
        inForce => inForce,
        $"policy {name} to refuse Secret {secretName} quoting its {key}");
}
