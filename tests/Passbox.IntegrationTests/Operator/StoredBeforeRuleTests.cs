using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// An upgrade over a credential that an earlier release's schema took and this one refuses: a PipelineCredential for
/// Tekton without spec.server, stored before the rule that requires it. The new operator writes its status over the
/// rule (validation ratcheting) and says what to fix instead of calling a Secret Tekton ignores Ready, the Secret it
/// published stays, and the credential still takes metadata edits and is deleted as usual. It replaces a CRD, so it has a
/// control plane of its own; the local one only.
/// </summary>
[Collection(StoredBeforeRuleDefinition.Name)]
public sealed class StoredBeforeRuleTests(ControlPlaneFixture controlPlane)
{
    private const string TektonRuleMark = "'Tekton' in self.secret.consumers";

    [SkippableFact]
    public async Task A_Tekton_credential_stored_without_server_is_InvalidSpec_after_the_upgrade_keeps_its_Secret_and_is_deleted()
    {
        Skip.IfNot(controlPlane.IsLocal, "replaces the PipelineCredential CRD: only on the local control plane");
        var released = await PipelineCrdAsync();
        var earlier = await PipelineCrdAsync();
        var spec = earlier.Spec.Versions.Single().Schema.OpenAPIV3Schema.Properties["spec"];
        spec.XKubernetesValidations.Should().ContainSingle(rule => rule.Rule.Contains(TektonRuleMark, StringComparison.Ordinal));
        spec.XKubernetesValidations = [.. spec.XKubernetesValidations.Where(rule => !rule.Rule.Contains(TektonRuleMark, StringComparison.Ordinal))];
        await controlPlane.ApplyCrdAsync(earlier);

        await using var run = await OperatorRun.StartAsync(controlPlane, "stored");
        var kit = run.Kit;
        const string token = "stored-before-rule-token";
        run.MarkSecret(token);
        await kit.CreateSecretAsync("ci-token-input", new Dictionary<string, string> { ["token"] = token });
        var credential = ClusterTestKit.TokenCredential("ci-token", "ci-token-input");
        credential.Spec.Server = "https://git.example.com/team/app.git";
        credential.Spec.Secret = new PipelineSecretSettings { Consumers = [SecretConsumer.Tekton] };
        await kit.CreateAsync(credential);
        await kit.WaitForConditionAsync<PipelineCredential>("ci-token", ConditionTypes.Ready, "True");
        var published = await kit.WaitForSecretAsync("ci-token");

        // Under the earlier schema the server could be left out, as it was in credentials stored then.
        await run.StopOperatorAsync();
        await kit.PatchAsync<PipelineCredential>("ci-token", new JsonObject { ["spec"] = new JsonObject { ["server"] = null } });

        // The upgrade: the new CRDs, then the new operator.
        await controlPlane.ApplyCrdAsync(released);
        await run.StartOperatorAsync();

        var invalid = await kit.WaitForConditionAsync<PipelineCredential>("ci-token", ConditionTypes.Ready, "False", ConditionReasons.InvalidSpec);
        invalid.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Message.Should()
            .Contain("spec.secret.consumers Tekton needs spec.server").And.Contain("Secret ci-token from the last good spec stays");
        (await kit.TryGetSecretAsync("ci-token"))!.Metadata.ResourceVersion.Should().Be(published.Metadata.ResourceVersion,
            "the Secret workloads mount is left as it was published");

        // Ratcheting: edits that leave the spec alone are taken; deletion goes through the operator's finalizer as usual.
        await kit.PatchAsync<PipelineCredential>("ci-token", new { metadata = new { annotations = new Dictionary<string, string> { ["team"] = "ci" } } });
        await kit.DeleteAsync<PipelineCredential>("ci-token");
        await kit.WaitDeletedWithSecretAsync("ci-token");
    }

    private async Task<V1CustomResourceDefinition> PipelineCrdAsync()
    {
        var path = Path.Combine(controlPlane.RepositoryRoot, "crds", "pipelinecredentials.passbox.dev.yaml");
        return KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(path)).OfType<V1CustomResourceDefinition>().Single();
    }
}

/// <summary>A control plane of its own for <see cref="StoredBeforeRuleTests"/>, which replaces a CRD.</summary>
[CollectionDefinition(Name)]
public sealed class StoredBeforeRuleDefinition : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "stored before rule";
}
