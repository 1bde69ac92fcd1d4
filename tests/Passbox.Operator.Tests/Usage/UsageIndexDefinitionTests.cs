using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>Runs that use what the Tasks, Pipelines and WorkflowTemplates they name use.</summary>
public sealed class UsageIndexDefinitionTests
{
    private readonly UsageIndex index = new();
    private readonly List<UsageChange> changes = [];

    public UsageIndexDefinitionTests() => index.Changed += changes.Add;

    private static UsageChange SecretChange(string name) => new(Ns, UsageTarget.Secret, name);

    private static ObjectReferences Definition(string kind, string name, string[]? secrets = null, DefinitionReference[]? definitions = null, string[]? serviceAccounts = null, string[]? credentials = null) =>
        ObjectReferences.Create(kind, Ns, name, secretNames: secrets, serviceAccountNames: serviceAccounts, credentialNames: credentials, definitions: definitions);

    private static ObjectReferences Running(string kind, string name, params DefinitionReference[] definitions) =>
        ObjectReferences.Create(kind, Ns, name, definitions: definitions);

    private static DefinitionReference Task(string name) => new(UsageKinds.Task, name);

    private static DefinitionReference Pipeline(string name) => new(UsageKinds.Pipeline, name);

    private static DefinitionReference WorkflowTemplate(string name) => new(UsageKinds.WorkflowTemplate, name);

    [Fact]
    public void A_task_that_names_a_secret_is_not_a_user_itself()
    {
        index.Upsert(Definition(UsageKinds.Task, "deploy", secrets: ["deploy-kubeconfig"]));

        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().BeEmpty("a Task nothing runs keeps no Secret");
        index.Count.Should().Be(1, "its references are kept for the runs that come");
    }

    [Fact]
    public void A_task_run_uses_the_secrets_of_the_task_it_names()
    {
        index.Upsert(Definition(UsageKinds.Task, "deploy", secrets: ["deploy-kubeconfig"]));
        index.Upsert(Running(UsageKinds.TaskRun, "deploy-run", Task("deploy")));

        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().Equal(new UsageUser(UsageKinds.TaskRun, "deploy-run"));
    }

    [Fact]
    public void A_pipeline_run_uses_the_secrets_of_the_tasks_of_its_pipeline()
    {
        index.Upsert(Definition(UsageKinds.Task, "deploy", secrets: ["deploy-kubeconfig"]));
        index.Upsert(Definition(UsageKinds.Pipeline, "release", definitions: [Task("git-clone"), Task("deploy")]));
        index.Upsert(Running(UsageKinds.PipelineRun, "release-1", Pipeline("release")));

        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfCredential(Ns, "deploy", "deploy-kubeconfig").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
    }

    [Fact]
    public void A_service_account_named_by_a_workflow_template_carries_its_secrets_to_the_workflow()
    {
        index.Upsert(ServiceAccountReferences.From(new k8s.Models.V1ServiceAccount
        {
            Metadata = Meta("etl"),
            Secrets = [new k8s.Models.V1ObjectReference { Name = "warehouse-token" }],
        }));
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "etl", serviceAccounts: ["etl"]));
        index.Upsert(Running(UsageKinds.Workflow, "etl-x", WorkflowTemplate("etl")));

        index.UsersOfSecret(Ns, "warehouse-token").Should().Equal(
            new UsageUser(UsageKinds.ServiceAccount, "etl"),
            new UsageUser(UsageKinds.Workflow, "etl-x"));
    }

    [Fact]
    public void A_credential_annotated_on_a_task_is_used_by_its_runs()
    {
        index.Upsert(Definition(UsageKinds.Task, "report", credentials: ["orders-db"]));
        index.Upsert(Running(UsageKinds.TaskRun, "report-1", Task("report")));

        index.UsersOfCredential(Ns, "orders-db", null).Should().Equal(new UsageUser(UsageKinds.TaskRun, "report-1"));
    }

    [Fact]
    public void Definitions_that_name_each_other_in_a_cycle_are_followed_once()
    {
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "a", secrets: ["s"], definitions: [WorkflowTemplate("b")]));
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "b", definitions: [WorkflowTemplate("a")]));
        index.Upsert(Running(UsageKinds.Workflow, "w", WorkflowTemplate("b")));

        index.UsersOfSecret(Ns, "s").Should().Equal(new UsageUser(UsageKinds.Workflow, "w"));
    }

    [Fact]
    public void References_are_followed_no_deeper_than_the_bound()
    {
        // t0 names the Secret; t1 names t0, …; the run names the last one.
        var depth = UsageIndex.MaxIndirection + 1;
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "t0", secrets: ["s"]));
        for (var i = 1; i < depth; i++)
        {
            index.Upsert(Definition(UsageKinds.WorkflowTemplate, $"t{i}", definitions: [WorkflowTemplate($"t{i - 1}")]));
        }

        index.Upsert(Running(UsageKinds.Workflow, "near", WorkflowTemplate($"t{UsageIndex.MaxIndirection - 1}")));
        index.Upsert(Running(UsageKinds.Workflow, "far", WorkflowTemplate($"t{depth - 1}")));

        index.UsersOfSecret(Ns, "s").Should().Equal(new UsageUser(UsageKinds.Workflow, "near"));
    }

    [Fact]
    public void A_user_within_the_bound_by_its_shortest_chain_counts_whatever_longer_chains_there_are()
    {
        // e names a directly, and through d, c, b too: the run that names e is two references from the Secret.
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "a", secrets: ["s"]));
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "b", definitions: [WorkflowTemplate("a")]));
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "c", definitions: [WorkflowTemplate("b")]));
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "d", definitions: [WorkflowTemplate("c")]));
        index.Upsert(Definition(UsageKinds.WorkflowTemplate, "e", definitions: [WorkflowTemplate("d"), WorkflowTemplate("a")]));
        index.Upsert(Running(UsageKinds.Workflow, "w", WorkflowTemplate("e")));

        index.UsersOfSecret(Ns, "s").Should().Equal(new UsageUser(UsageKinds.Workflow, "w"));
    }

    [Fact]
    public void A_run_starting_or_finishing_notifies_the_secrets_its_pipeline_reaches()
    {
        index.Upsert(Definition(UsageKinds.Task, "deploy", secrets: ["deploy-kubeconfig"]));
        index.Upsert(Definition(UsageKinds.Pipeline, "release", secrets: ["registry-push"], definitions: [Task("deploy")]));
        changes.Clear();

        index.Upsert(Running(UsageKinds.PipelineRun, "release-1", Pipeline("release")));
        changes.Should().BeEquivalentTo([SecretChange("registry-push"), SecretChange("deploy-kubeconfig")]);

        changes.Clear();
        index.Remove(UsageKinds.PipelineRun, Ns, "release-1");
        changes.Should().BeEquivalentTo([SecretChange("registry-push"), SecretChange("deploy-kubeconfig")]);
        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().BeEmpty();
    }

    [Fact]
    public void A_task_created_after_its_run_makes_the_run_a_user_and_notifies()
    {
        index.Upsert(Running(UsageKinds.PipelineRun, "release-1", Pipeline("release")));
        index.Upsert(Definition(UsageKinds.Pipeline, "release", definitions: [Task("deploy")]));
        changes.Clear();

        index.Upsert(Definition(UsageKinds.Task, "deploy", secrets: ["deploy-kubeconfig"]));

        changes.Should().Equal(SecretChange("deploy-kubeconfig"));
        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
    }

    [Fact]
    public void A_pipeline_edited_to_drop_a_task_notifies_that_tasks_secrets_and_releases_them()
    {
        index.Upsert(Definition(UsageKinds.Task, "deploy", secrets: ["deploy-kubeconfig"]));
        index.Upsert(Definition(UsageKinds.Pipeline, "release", definitions: [Task("deploy")]));
        index.Upsert(Running(UsageKinds.PipelineRun, "release-1", Pipeline("release")));
        changes.Clear();

        index.Upsert(Definition(UsageKinds.Pipeline, "release", definitions: [Task("git-clone")]));

        changes.Should().Equal(SecretChange("deploy-kubeconfig"));
        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().BeEmpty();
    }

    [Fact]
    public void A_definition_of_another_namespace_does_not_count()
    {
        index.Upsert(ObjectReferences.Create(UsageKinds.Task, "team-b", "deploy", secretNames: ["deploy-kubeconfig"]));
        index.Upsert(Running(UsageKinds.TaskRun, "deploy-run", Task("deploy")));

        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().BeEmpty();
        index.UsersOfSecret("team-b", "deploy-kubeconfig").Should().BeEmpty();
    }
}
