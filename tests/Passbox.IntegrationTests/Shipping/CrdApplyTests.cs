using k8s;
using k8s.Autorest;
using Passbox.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// <c>make run</c> against a cluster applies the CRDs through <c>hack/apply-crds.sh</c>. Server-side apply makes kubectl a
/// co-owner of every field it applies, even unchanged ones, and Helm 4 applies server-side too: after one such apply,
/// every upgrade of the release that changes a CRD failed with 'conflict with "kubectl"'. A release's CRDs are left to
/// it. The tests use a CRD of a group of their own in a small chart, so the credentials' CRDs stay as they are.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class CrdApplyTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IDisposable
{
    private readonly string group = $"t{Guid.NewGuid():N}"[..9] + ".applytest.passbox.dev";
    private readonly string release = $"crd-{Guid.NewGuid():N}"[..12];
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("passbox-crd-apply-");

    private string CrdName => $"gadgets.{group}";

    [SkippableFact]
    public async Task A_matching_CRD_of_a_Helm_release_is_left_to_it_so_its_next_upgrade_can_still_change_the_CRD()
    {
        Skip.IfNot(controlPlane.IsLocal, "creates CRDs: only on the local control plane");
        var chart = WriteChart("first description");
        Helm("install", chart).ExitCode.Should().Be(0);
        var crds = WriteCrdDirectory("first description");

        var applied = ApplyCrds(crds);

        applied.ExitCode.Should().Be(0, applied.StandardError);
        var upgraded = Helm("upgrade", WriteChart("second description"));
        upgraded.ExitCode.Should().Be(0, "helm upgrade said {0}", upgraded.StandardError);
        (await DescriptionAsync()).Should().Be("second description");
        (await ManagersAsync()).Should().NotContain("kubectl", "kubectl co-owning the fields would make the release's next change conflict");
        applied.StandardError.Should().Contain($"Helm release {release} -n default and match").And.Contain("left to the release");
    }

    [SkippableFact]
    public async Task A_CRD_of_a_Helm_release_that_differs_is_refused_naming_the_release_and_how_to_upgrade_it()
    {
        Skip.IfNot(controlPlane.IsLocal, "creates CRDs: only on the local control plane");
        Helm("install", WriteChart("released description")).ExitCode.Should().Be(0);

        var applied = ApplyCrds(WriteCrdDirectory("newer description"));

        applied.ExitCode.Should().NotBe(0);
        applied.StandardError.Should().Contain($"Helm release {release} -n default and differ")
            .And.Contain($"helm upgrade {release} -n default charts/passbox --reuse-values").And.Contain("PASSBOX_LOCAL=1");
        (await DescriptionAsync()).Should().Be("released description");
        (await ManagersAsync()).Should().NotContain("kubectl");
    }

    [SkippableFact]
    public async Task The_READMEs_hand_over_of_CRDs_applied_with_kubectl_lets_the_release_change_them_afterwards()
    {
        Skip.IfNot(controlPlane.IsLocal, "creates CRDs: only on the local control plane");
        ShippingTools.Run(ShippingTools.Kubectl, ["apply", "--server-side", "-f", WriteCrdDirectory("first description"), "--kubeconfig", controlPlane.AdminKubeconfig]);
        Helm("install", WriteChart("first description"), "--take-ownership").ExitCode.Should().Be(0);

        // The README's loop, for this test's CRD: the same printf into the same server-side apply.
        var readme = File.ReadAllText(ShippingTools.PathInRepo("README.md"));
        var format = System.Text.RegularExpressions.Regex.Match(readme, @"printf '(apiVersion: apiextensions[^']*)' ""\$crd"" \|\n\s*kubectl apply --server-side -f -");
        format.Success.Should().BeTrue("the README hands the CRDs over with printf | kubectl apply --server-side");
        var handOver = ShippingTools.TryRun("bash", ["-c", $"printf '{format.Groups[1].Value}' \"$1\" | \"$2\" apply --server-side -f -", "hand-over",
            CrdName[..^".passbox.dev".Length], ShippingTools.Kubectl], environment: new Dictionary<string, string> { ["KUBECONFIG"] = controlPlane.AdminKubeconfig });
        handOver.ExitCode.Should().Be(0, handOver.StandardError);

        (await ManagersAsync()).Should().NotContain("kubectl");
        (await DescriptionAsync()).Should().Be("first description", "the release still owns every field");
        var upgraded = Helm("upgrade", WriteChart("second description"));
        upgraded.ExitCode.Should().Be(0, "helm upgrade said {0}", upgraded.StandardError);
        (await DescriptionAsync()).Should().Be("second description");
    }

    [SkippableFact]
    public async Task CRDs_no_release_owns_are_applied()
    {
        Skip.IfNot(controlPlane.IsLocal, "creates CRDs: only on the local control plane");

        var applied = ApplyCrds(WriteCrdDirectory("applied by make run"));

        applied.ExitCode.Should().Be(0, applied.StandardError);
        (await DescriptionAsync()).Should().Be("applied by make run");
    }

    public void Dispose()
    {
        ShippingTools.TryRun(ShippingTools.Helm, ["uninstall", release, "--namespace", "default", "--kubeconfig", controlPlane.AdminKubeconfig]);
        ShippingTools.TryRun(ShippingTools.Kubectl, ["delete", "crd", CrdName, "--ignore-not-found", "--kubeconfig", controlPlane.AdminKubeconfig]);
        work.Delete(recursive: true);
    }

    private ToolResult ApplyCrds(string directory)
    {
        var result = ShippingTools.TryRun("bash", [ShippingTools.PathInRepo("hack", "apply-crds.sh"), ShippingTools.Kubectl, directory],
            environment: new Dictionary<string, string> { ["KUBECONFIG"] = controlPlane.AdminKubeconfig });
        output.WriteLine($"apply-crds.sh: exit {result.ExitCode}\n{result.StandardError}");
        return result;
    }

    private ToolResult Helm(string verb, string chart, params string[] extra)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm,
            [verb, release, chart, "--namespace", "default", "--kubeconfig", controlPlane.AdminKubeconfig, .. extra], timeout: TimeSpan.FromMinutes(2));
        output.WriteLine($"helm {verb}: exit {result.ExitCode}\n{result.StandardError}");
        return result;
    }

    private string WriteChart(string description)
    {
        var chart = Path.Combine(work.FullName, "chart-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(Path.Combine(chart, "templates"));
        File.WriteAllText(Path.Combine(chart, "Chart.yaml"), "apiVersion: v2\nname: crdtest\nversion: 0.1.0\n");
        File.WriteAllText(Path.Combine(chart, "templates", "crd.yaml"), Crd(description));
        return chart;
    }

    private string WriteCrdDirectory(string description)
    {
        var directory = Path.Combine(work.FullName, "crds-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "gadgets.yaml"), Crd(description));
        return directory;
    }

    private string Crd(string description) => $$"""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: {{CrdName}}
        spec:
          group: {{group}}
          names: {kind: Gadget, listKind: GadgetList, plural: gadgets, singular: gadget}
          scope: Namespaced
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  description: {{description}}
                  properties:
                    spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
        """;

    private async Task<string?> DescriptionAsync()
    {
        var crd = await controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync(CrdName);
        return crd.Spec.Versions.Single().Schema.OpenAPIV3Schema.Description;
    }

    private async Task<IEnumerable<string>> ManagersAsync()
    {
        try
        {
            var crd = await controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync(CrdName);
            return crd.Metadata.ManagedFields.Select(f => f.Manager);
        }
        catch (HttpOperationException)
        {
            return [];
        }
    }
}
