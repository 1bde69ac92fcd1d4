using System.Text.Json.Nodes;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The manifests Passbox ships, rendered as a user would: the Helm chart and the kustomize
/// configuration. Other suites (server-side dry-run apply, RBAC audit comparison) start here.
/// </summary>
public static class ShippingManifests
{
    public const string ChartPath = "charts/passbox";
    public const string DefaultRelease = "passbox";
    public const string DefaultNamespace = "passbox-system";
    public const string KustomizeDefault = "config/default";
    public const string KustomizeAdmission = "config/admission";
    public const string KustomizeNamespaced = "config/namespaced";

    /// <summary>What `helm install` finds on a cluster that serves MutatingAdmissionPolicy (Kubernetes 1.36+).</summary>
    public const string MutatingAdmissionPolicyApi = "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy";

    private static readonly Lazy<string> DefaultChart = new(() => RenderHelmChartUncached(DefaultRelease, DefaultNamespace, []));
    private static readonly Lazy<string> DefaultKustomize = new(() => RenderKustomizeUncached(KustomizeDefault));

    /// <summary>The CRD files generated from the API types (crds/*.yaml), by file name.</summary>
    public static IReadOnlyDictionary<string, string> GeneratedCrdFiles()
    {
        var dir = ShippingTools.PathInRepo("crds");
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.yaml") : [];
        if (files.Length == 0)
        {
            throw new InvalidOperationException(
                "crds/ holds no CRDs: run `make manifests`, then `bash hack/sync-chart-crds.sh`.");
        }

        return files.ToDictionary(f => Path.GetFileName(f), File.ReadAllText);
    }

    /// <summary>`helm template` of the chart; each entry of <paramref name="setValues"/> is one --set argument.</summary>
    public static string RenderHelmChart(params string[] setValues) =>
        setValues.Length == 0 ? DefaultChart.Value : RenderHelmChartUncached(DefaultRelease, DefaultNamespace, setValues);

    public static string RenderHelmChart(string release, string @namespace, params string[] setValues) =>
        RenderHelmChartUncached(release, @namespace, setValues);

    /// <summary>`helm template` as against a cluster serving <paramref name="apiVersions"/> (helm's --api-versions).</summary>
    public static IReadOnlyList<JsonObject> HelmDocumentsOnCluster(string[] apiVersions, string release, params string[] setValues) =>
        YamlDocuments.Parse(ShippingTools.Run(
            ShippingTools.Helm,
            ["template", release, ChartPath, "--namespace", DefaultNamespace, .. apiVersions.SelectMany(v => new[] { "--api-versions", v }), .. SetArguments(setValues)]));

    /// <summary>`helm template` with its error instead of throwing (for values the chart must refuse).</summary>
    public static ToolResult TryRenderHelmChart(params string[] setValues) =>
        ShippingTools.TryRun(ShippingTools.Helm, ["template", DefaultRelease, ChartPath, "--namespace", DefaultNamespace, .. SetArguments(setValues)]);

    /// <summary>`kubectl kustomize` of a folder of the repository (default: config/default).</summary>
    public static string RenderKustomize(string directory = KustomizeDefault) =>
        directory == KustomizeDefault ? DefaultKustomize.Value : RenderKustomizeUncached(directory);

    public static IReadOnlyList<JsonObject> HelmDocuments(params string[] setValues) =>
        YamlDocuments.Parse(RenderHelmChart(setValues));

    public static IReadOnlyList<JsonObject> KustomizeDocuments() => YamlDocuments.Parse(DefaultKustomize.Value);

    /// <summary>`helm lint --strict`, returning the result rather than throwing.</summary>
    public static ToolResult LintHelmChart(params string[] setValues) =>
        ShippingTools.TryRun(ShippingTools.Helm, ["lint", "--strict", ChartPath, .. SetArguments(setValues)]);

    private static string RenderHelmChartUncached(string release, string @namespace, string[] setValues) =>
        ShippingTools.Run(
            ShippingTools.Helm,
            ["template", release, ChartPath, "--namespace", @namespace, .. SetArguments(setValues)]);

    private static string RenderKustomizeUncached(string directory) =>
        ShippingTools.Run(ShippingTools.Kubectl, ["kustomize", ShippingTools.PathInRepo(directory)]);

    private static IEnumerable<string> SetArguments(string[] setValues) => setValues.SelectMany(s => new[] { "--set", s });
}
