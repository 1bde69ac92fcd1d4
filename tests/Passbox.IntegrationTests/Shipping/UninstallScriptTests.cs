using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The README's way out once the operator is gone (Uninstall): a script that strips Passbox's finalizer from every
/// credential and generated Secret, so that a namespace or the CRDs being deleted are no longer held for ever. It is run
/// as written, with the shells people paste it into: sh, and zsh (macOS's login shell), which does not split an
/// unquoted variable into words, so a loop over "$finalizers" saw one word and stripped nothing from an object that
/// carries another controller's finalizer too. The script selects every namespace (-A); here it is pointed at the
/// test's namespace alone, so the credentials of tests running beside it keep their finalizers.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed partial class UninstallScriptTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IAsyncLifetime
{
    private const string OtherFinalizer = "example.com/keep-me";
    private readonly Kubernetes admin = controlPlane.Admin;
    private TestNamespace ns = null!;

    public async Task InitializeAsync() => ns = await controlPlane.CreateNamespaceAsync("strip");

    public async Task DisposeAsync() => await ns.DisposeAsync();

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("zsh")]
    public async Task The_READMEs_script_lets_deleted_credentials_and_Secrets_go_and_keeps_other_finalizers(string shell)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin";
        Skip.IfNot(path.Split(':').Any(dir => File.Exists(Path.Combine(dir, shell))), $"{shell} is not installed (make deps installs it)");
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<PipelineCredential>();
        await CreateCredentialAsync("alone", ApiGroup.InUseFinalizer);
        await CreateCredentialAsync("shared", OtherFinalizer, ApiGroup.InUseFinalizer);
        await admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = "alone",
                Labels = new Dictionary<string, string> { [ApiGroup.ManagedByLabel] = ApiGroup.ManagedByValue, [ApiGroup.CredentialLabel] = "alone" },
                Finalizers = [ApiGroup.InUseFinalizer],
            },
            StringData = new Dictionary<string, string> { ["token"] = "strip-test" },
        }, ns.Name);
        foreach (var name in new[] { "alone", "shared" })
        {
            await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(resource.Group, resource.Version, ns.Name, resource.Plural, name);
        }

        await admin.CoreV1.DeleteNamespacedSecretAsync("alone", ns.Name);

        var result = ShippingTools.TryRun(shell, ["-c", ScriptForNamespace(ns.Name)],
            environment: new Dictionary<string, string> { ["KUBECONFIG"] = controlPlane.AdminKubeconfig, ["PATH"] = $"{ShippingTools.ToolBin}:{path}" });
        output.WriteLine(result.StandardOutput);
        result.ExitCode.Should().Be(0, result.StandardError);

        (await CredentialAsync("alone")).Should().BeNull("its only finalizer was Passbox's, so the deletion completes");
        (await admin.CoreV1.ListNamespacedSecretAsync(ns.Name)).Items.Should().NotContain(s => s.Metadata.Name == "alone");
        var shared = await CredentialAsync("shared");
        shared.Should().NotBeNull("another controller's finalizer still holds it");
        shared!.Metadata.Finalizers.Should().Equal([OtherFinalizer], "only Passbox's finalizer is stripped, by {0} too", shell);
    }

    /// <summary>The README's script as written, with its -A (every namespace) narrowed to <paramref name="namespaceName"/>.</summary>
    private static string ScriptForNamespace(string namespaceName)
    {
        var readme = File.ReadAllText(ShippingTools.PathInRepo("README.md"));
        var script = StripScript().Match(readme);
        script.Success.Should().BeTrue("the README's Uninstall section has the strip script in a sh block");
        var text = script.Groups[1].Value;
        text.Should().Contain("kubectl get \"$kind\" -A \"$@\"");
        return text.Replace("kubectl get \"$kind\" -A \"$@\"", $"kubectl get \"$kind\" -n {namespaceName} \"$@\"", StringComparison.Ordinal);
    }

    private async Task CreateCredentialAsync(string name, params string[] finalizers)
    {
        var credential = Operator.ClusterTestKit.TokenCredential(name);
        credential.Metadata.Finalizers = finalizers;
        await Kit.CreateAsync(credential);
    }

    private Task<PipelineCredential?> CredentialAsync(string name) => Kit.GetAsync<PipelineCredential>(name);

    private Operator.ClusterTestKit Kit => new(controlPlane, ns.Name);

    [GeneratedRegex(@"```sh\n(strip\(\) \{.*?)```", RegexOptions.Singleline)]
    private static partial Regex StripScript();
}
