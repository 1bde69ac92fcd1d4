using Passbox.Operator.Usage;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// ClusterWorkflowTemplates belong to no namespace: what one names is looked up in the namespace of each Workflow that
/// runs it, and counts only there and only while such a Workflow (or CronWorkflow) names it.
/// </summary>
public sealed class UsageIndexClusterDefinitionTests
{
    private const string TeamA = "team-a";
    private const string TeamB = "team-b";

    private readonly UsageIndex index = new();
    private readonly List<UsageChange> changes = [];

    public UsageIndexClusterDefinitionTests() => index.Changed += changes.Add;

    private static DefinitionReference ClusterTemplate(string name) => new(UsageKinds.ClusterWorkflowTemplate, name);

    private static ObjectReferences ClusterTemplateNaming(string name, string[]? secrets = null, string[]? serviceAccounts = null, string[]? credentials = null, DefinitionReference[]? definitions = null) =>
        ObjectReferences.Create(UsageKinds.ClusterWorkflowTemplate, string.Empty, name, secretNames: secrets, serviceAccountNames: serviceAccounts, credentialNames: credentials, definitions: definitions);

    private static ObjectReferences Workflow(string ns, string name, params DefinitionReference[] definitions) =>
        ObjectReferences.Create(UsageKinds.Workflow, ns, name, definitions: definitions);

    private static UsageUser WorkflowUser(string name) => new(UsageKinds.Workflow, name);

    [Fact]
    public void A_cluster_workflow_template_nothing_runs_keeps_no_secret_in_any_namespace()
    {
        index.Upsert(ClusterTemplateNaming("shared-etl", secrets: ["warehouse-token"]));

        index.UsersOfSecret(TeamA, "warehouse-token").Should().BeEmpty();
        index.Count.Should().Be(1, "its references are kept for the Workflows that come");
        changes.Should().BeEmpty("no namespace runs it, so no Secret's users changed");
    }

    [Fact]
    public void A_workflow_uses_the_secret_its_cluster_workflow_template_names_in_its_own_namespace_only()
    {
        index.Upsert(ClusterTemplateNaming("shared-etl", secrets: ["warehouse-token"]));
        index.Upsert(Workflow(TeamA, "etl-1", ClusterTemplate("shared-etl")));
        index.Upsert(ObjectReferences.Create(UsageKinds.Pod, TeamB, "unrelated", secretNames: ["other"]));

        index.UsersOfSecret(TeamA, "warehouse-token").Should().Equal(WorkflowUser("etl-1"));
        index.UsersOfSecret(TeamB, "warehouse-token").Should().BeEmpty("no Workflow of team-b runs the template");
        changes.Should().Contain(new UsageChange(TeamA, UsageTarget.Secret, "warehouse-token"));
        changes.Should().NotContain(c => c.Namespace == TeamB && c.Name == "warehouse-token");
    }

    [Fact]
    public void Workflows_of_two_namespaces_each_use_their_own_namespaces_secret_and_service_account()
    {
        index.Upsert(ClusterTemplateNaming("shared-etl", serviceAccounts: ["etl"]));
        index.Upsert(ObjectReferences.Create(UsageKinds.ServiceAccount, TeamA, "etl", secretNames: ["token-a"]));
        index.Upsert(ObjectReferences.Create(UsageKinds.ServiceAccount, TeamB, "etl", secretNames: ["token-b"]));
        index.Upsert(Workflow(TeamA, "etl-a", ClusterTemplate("shared-etl")));
        index.Upsert(Workflow(TeamB, "etl-b", ClusterTemplate("shared-etl")));

        index.UsersOfSecret(TeamA, "token-a").Should().Equal(new UsageUser(UsageKinds.ServiceAccount, "etl"), WorkflowUser("etl-a"));
        index.UsersOfSecret(TeamB, "token-b").Should().Equal(new UsageUser(UsageKinds.ServiceAccount, "etl"), WorkflowUser("etl-b"));
    }

    [Fact]
    public void A_changed_cluster_workflow_template_wakes_the_secrets_in_the_namespaces_that_run_it()
    {
        index.Upsert(ClusterTemplateNaming("shared-etl", secrets: ["old-token"]));
        index.Upsert(Workflow(TeamA, "etl-a", ClusterTemplate("shared-etl")));
        index.Upsert(ObjectReferences.Create(UsageKinds.Pod, TeamB, "unrelated", secretNames: ["other"]));
        changes.Clear();

        index.Upsert(ClusterTemplateNaming("shared-etl", secrets: ["new-token"], credentials: ["warehouse"]));

        changes.Should().BeEquivalentTo(
        [
            new UsageChange(TeamA, UsageTarget.Secret, "old-token"),
            new UsageChange(TeamA, UsageTarget.Secret, "new-token"),
            new UsageChange(TeamA, UsageTarget.Credential, "warehouse"),
        ]);
        index.UsersOfSecret(TeamA, "old-token").Should().BeEmpty();
        index.UsersOfSecret(TeamA, "new-token").Should().Equal(WorkflowUser("etl-a"));
        index.UsersOfCredential(TeamA, "warehouse", null).Should().Equal(WorkflowUser("etl-a"));
    }

    [Fact]
    public void A_cluster_workflow_template_that_names_another_carries_its_secrets_and_its_changes()
    {
        index.Upsert(ClusterTemplateNaming("notifier", secrets: ["slack-token"]));
        index.Upsert(ClusterTemplateNaming("shared-etl", definitions: [ClusterTemplate("notifier")]));
        index.Upsert(Workflow(TeamA, "etl-a", ClusterTemplate("shared-etl")));
        index.UsersOfSecret(TeamA, "slack-token").Should().Equal(WorkflowUser("etl-a"));
        changes.Clear();

        index.Remove(UsageKinds.ClusterWorkflowTemplate, string.Empty, "notifier");

        changes.Should().Equal(new UsageChange(TeamA, UsageTarget.Secret, "slack-token"));
        index.UsersOfSecret(TeamA, "slack-token").Should().BeEmpty();
    }

    [Fact]
    public void A_workflow_that_stops_running_it_releases_what_the_template_names()
    {
        index.Upsert(ClusterTemplateNaming("shared-etl", secrets: ["warehouse-token"]));
        index.Upsert(Workflow(TeamA, "etl-a", ClusterTemplate("shared-etl")));
        changes.Clear();

        index.Remove(UsageKinds.Workflow, TeamA, "etl-a");

        changes.Should().Equal(new UsageChange(TeamA, UsageTarget.Secret, "warehouse-token"));
        index.UsersOfSecret(TeamA, "warehouse-token").Should().BeEmpty();
        index.Count.Should().Be(1, "the template stays for the next Workflow");
    }

    [Fact]
    public void A_relist_replaces_the_cluster_workflow_templates_and_find_reads_them()
    {
        index.Upsert(ClusterTemplateNaming("gone", secrets: ["a"]));
        index.Upsert(ClusterTemplateNaming("kept", secrets: ["b"]));

        index.Replace(UsageKinds.ClusterWorkflowTemplate, [ClusterTemplateNaming("kept", secrets: ["b"])]);

        index.Find(UsageKinds.ClusterWorkflowTemplate, string.Empty, "gone").Should().BeNull();
        index.Find(UsageKinds.ClusterWorkflowTemplate, string.Empty, "kept")!.SecretNames.Should().Equal("b");
        index.Count.Should().Be(1);
    }

    [Fact]
    public void A_namespaced_workflow_template_of_the_same_name_is_another_object()
    {
        index.Upsert(ClusterTemplateNaming("etl", secrets: ["cluster-token"]));
        index.Upsert(ObjectReferences.Create(UsageKinds.WorkflowTemplate, TeamA, "etl", secretNames: ["local-token"]));
        index.Upsert(Workflow(TeamA, "etl-a", new DefinitionReference(UsageKinds.WorkflowTemplate, "etl")));

        index.UsersOfSecret(TeamA, "local-token").Should().Equal(WorkflowUser("etl-a"));
        index.UsersOfSecret(TeamA, "cluster-token").Should().BeEmpty("the Workflow runs the namespace's WorkflowTemplate, not the cluster's");
    }
}
