using k8s.Models;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class UsageIndexTests
{
    private readonly UsageIndex index = new();
    private readonly List<UsageChange> changes = [];

    public UsageIndexTests() => index.Changed += changes.Add;

    private static UsageChange SecretChange(string name, string ns = Ns) => new(ns, UsageTarget.Secret, name);

    private static V1ServiceAccount ServiceAccount(string name, params string[] secrets) => new()
    {
        Metadata = Meta(name),
        Secrets = secrets.Select(s => new V1ObjectReference { Name = s }).ToList(),
    };

    private static ObjectReferences TaskRunAs(string name, string serviceAccount) =>
        ObjectReferences.Create("TaskRun", Ns, name, serviceAccountNames: [serviceAccount]);

    [Fact]
    public void Users_of_a_secret_are_listed_by_kind_then_name()
    {
        index.Upsert(PodReferences.From(Pod("api-b", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(WorkloadReferences.From(Deployment("orders-api", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(PodReferences.From(Pod("api-a", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(PodReferences.From(Pod("other", SpecUsingEnv("unrelated"))));

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(
            new UsageUser("Deployment", "orders-api"),
            new UsageUser("Pod", "api-a"),
            new UsageUser("Pod", "api-b"));
    }

    [Fact]
    public void A_secret_nothing_uses_has_no_users()
    {
        index.UsersOfSecret(Ns, "orders-ob-conn").Should().BeEmpty();
        index.UsersOfCredential("nowhere", "orders-ob", "orders-ob-conn").Should().BeEmpty();
    }

    [Fact]
    public void Queries_are_per_namespace()
    {
        index.Upsert(PodReferences.From(Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"), ns: "team-b")));
        index.Upsert(UsesAnnotation.From("ConfigMap", Meta("cfg", "team-b", new Dictionary<string, string> { ["passbox.dev/uses"] = "orders-ob" })));

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().BeEmpty();
        index.UsersOfCredential(Ns, "orders-ob", "orders-ob-conn").Should().BeEmpty();
        index.UsersOfSecret("team-b", "orders-ob-conn").Should().Equal(new UsageUser("Pod", "api-7d9f"));
    }

    [Fact]
    public void Service_account_users_in_another_namespace_do_not_count()
    {
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "github-bot")));
        index.Upsert(ObjectReferences.Create("TaskRun", "team-b", "run-1", serviceAccountNames: ["pipeline"]));

        index.UsersOfSecret(Ns, "github-bot").Should().Equal(new UsageUser("ServiceAccount", "pipeline"));
    }

    [Fact]
    public void Users_of_a_credential_combine_its_annotation_and_its_generated_secret()
    {
        index.Upsert(PodReferences.From(Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(UsesAnnotation.From("ConfigMap", Meta("cfg", annotations: new Dictionary<string, string> { ["passbox.dev/uses"] = "orders-ob" })));
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("db-reader", "orders-ob-conn")));
        index.Upsert(TaskRunAs("backup-run", "db-reader"));

        index.UsersOfCredential(Ns, "orders-ob", "orders-ob-conn").Should().Equal(
            new UsageUser("ConfigMap", "cfg"),
            new UsageUser("Pod", "api-7d9f"),
            new UsageUser("ServiceAccount", "db-reader"),
            new UsageUser("TaskRun", "backup-run"));
    }

    [Fact]
    public void An_object_that_uses_nothing_is_not_stored()
    {
        index.Upsert(PodReferences.From(Pod("web-1", Spec())));

        index.Count.Should().Be(0);
        index.Find("Pod", Ns, "web-1").Should().BeNull();
        changes.Should().BeEmpty();
    }

    [Fact]
    public void A_deployment_edited_to_stop_using_a_secret_stops_counting_and_notifies()
    {
        var deployment = Deployment("orders-api", Spec(s =>
        {
            s.Containers[0].Env.Add(SecretEnv("DB_PASSWORD", "orders-ob-conn"));
            s.ImagePullSecrets = [new V1LocalObjectReference { Name = "registry-bot" }];
        }));
        index.Upsert(WorkloadReferences.From(deployment));
        changes.Clear();

        deployment.Spec.Template.Spec.Containers[0].Env.RemoveAt(1);
        deployment.Spec.Template.Spec.Containers[0].Env.Add(SecretEnv("DB_PASSWORD", "orders-mysql-conn"));
        index.Upsert(WorkloadReferences.From(deployment));

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().BeEmpty();
        index.UsersOfSecret(Ns, "orders-mysql-conn").Should().Equal(new UsageUser("Deployment", "orders-api"));
        index.UsersOfSecret(Ns, "registry-bot").Should().Equal(new UsageUser("Deployment", "orders-api"));
        changes.Should().BeEquivalentTo([SecretChange("orders-ob-conn"), SecretChange("orders-mysql-conn")]);
    }

    [Fact]
    public void An_update_that_changes_no_reference_notifies_nothing()
    {
        var pod = Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"), "Pending");
        index.Upsert(PodReferences.From(pod));
        changes.Clear();

        pod.Status.Phase = "Running";
        pod.Metadata.Labels = new Dictionary<string, string> { ["ready"] = "yes" };
        index.Upsert(PodReferences.From(pod));

        changes.Should().BeEmpty();
    }

    [Fact]
    public void A_pod_that_finishes_stops_counting_and_notifies()
    {
        var pod = Pod("report-1", SpecUsingEnv("orders-ob-conn"));
        index.Upsert(PodReferences.From(pod));
        changes.Clear();

        pod.Status.Phase = "Succeeded";
        index.Upsert(PodReferences.From(pod));

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().BeEmpty();
        index.Count.Should().Be(0);
        changes.Should().Equal(SecretChange("orders-ob-conn"));
    }

    [Fact]
    public void Remove_forgets_the_object_and_notifies_each_name_it_used()
    {
        var pod = Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"));
        pod.Metadata.Annotations = new Dictionary<string, string> { ["passbox.dev/uses"] = "github-bot" };
        index.Upsert(PodReferences.From(pod));
        changes.Clear();

        index.Remove("Pod", Ns, "api-7d9f");

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().BeEmpty();
        index.UsersOfCredential(Ns, "github-bot", null).Should().BeEmpty();
        index.Count.Should().Be(0);
        changes.Should().BeEquivalentTo([SecretChange("orders-ob-conn"), new UsageChange(Ns, UsageTarget.Credential, "github-bot")]);
    }

    [Fact]
    public void Removing_an_unknown_object_notifies_nothing()
    {
        index.Remove("Pod", Ns, "never-seen");

        changes.Should().BeEmpty();
    }

    [Fact]
    public void Removing_one_user_leaves_the_others()
    {
        index.Upsert(PodReferences.From(Pod("api-a", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(PodReferences.From(Pod("api-b", SpecUsingEnv("orders-ob-conn"))));

        index.Remove("Pod", Ns, "api-a");

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(new UsageUser("Pod", "api-b"));
    }

    [Fact]
    public void Users_come_and_go_one_by_one()
    {
        foreach (var name in new[] { "a", "b", "c" })
        {
            index.Upsert(PodReferences.From(Pod(name, SpecUsingEnv("orders-ob-conn"))));
        }

        index.Remove("Pod", Ns, "a");
        index.Remove("Pod", Ns, "c");
        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(new UsageUser("Pod", "b"));

        index.Upsert(PodReferences.From(Pod("b", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(PodReferences.From(Pod("d", SpecUsingEnv("orders-ob-conn"))));
        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(new UsageUser("Pod", "b"), new UsageUser("Pod", "d"));

        index.Remove("Pod", Ns, "b");
        index.Remove("Pod", Ns, "d");
        index.UsersOfSecret(Ns, "orders-ob-conn").Should().BeEmpty();
        index.Count.Should().Be(0);
    }

    [Fact]
    public void Objects_of_different_kinds_with_the_same_name_are_different_users()
    {
        index.Upsert(WorkloadReferences.From(Deployment("orders", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(PodReferences.From(Pod("orders", SpecUsingEnv("orders-ob-conn"))));

        index.Remove("Pod", Ns, "orders");

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(new UsageUser("Deployment", "orders"));
    }

    [Fact]
    public void A_run_using_a_service_account_uses_the_secrets_it_lists()
    {
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "github-bot", "registry-bot")));
        index.Upsert(TaskRunAs("clone-1", "pipeline"));

        index.UsersOfSecret(Ns, "github-bot").Should().Equal(new UsageUser("ServiceAccount", "pipeline"), new UsageUser("TaskRun", "clone-1"));
        index.UsersOfSecret(Ns, "registry-bot").Should().Contain(new UsageUser("TaskRun", "clone-1"));
    }

    [Fact]
    public void A_run_using_a_service_account_that_does_not_list_the_secret_does_not_count()
    {
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "registry-bot")));
        index.Upsert(TaskRunAs("clone-1", "pipeline"));

        index.UsersOfSecret(Ns, "github-bot").Should().BeEmpty();
    }

    [Fact]
    public void A_run_starting_or_finishing_notifies_the_secrets_of_its_service_account()
    {
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "github-bot", "registry-bot")));
        changes.Clear();

        index.Upsert(TaskRunAs("clone-1", "pipeline"));
        changes.Should().BeEquivalentTo([SecretChange("github-bot"), SecretChange("registry-bot")]);

        changes.Clear();
        index.Remove("TaskRun", Ns, "clone-1");
        changes.Should().BeEquivalentTo([SecretChange("github-bot"), SecretChange("registry-bot")]);
        index.UsersOfSecret(Ns, "github-bot").Should().Equal(new UsageUser("ServiceAccount", "pipeline"));
    }

    [Fact]
    public void A_service_account_that_starts_listing_a_secret_makes_its_runs_users()
    {
        index.Upsert(TaskRunAs("clone-1", "pipeline"));
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "registry-bot")));
        changes.Clear();

        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "registry-bot", "github-bot")));

        changes.Should().Equal(SecretChange("github-bot"));
        index.UsersOfSecret(Ns, "github-bot").Should().Equal(new UsageUser("ServiceAccount", "pipeline"), new UsageUser("TaskRun", "clone-1"));
    }

    [Fact]
    public void A_deleted_service_account_no_longer_carries_its_runs()
    {
        index.Upsert(ServiceAccountReferences.From(ServiceAccount("pipeline", "github-bot")));
        index.Upsert(TaskRunAs("clone-1", "pipeline"));
        changes.Clear();

        index.Remove("ServiceAccount", Ns, "pipeline");

        changes.Should().Equal(SecretChange("github-bot"));
        index.UsersOfSecret(Ns, "github-bot").Should().BeEmpty();
    }

    [Fact]
    public void Replace_removes_objects_of_the_kind_missing_from_a_relist()
    {
        index.Upsert(PodReferences.From(Pod("gone", SpecUsingEnv("orders-ob-conn"))));
        index.Upsert(PodReferences.From(Pod("kept", SpecUsingEnv("orders-ob-conn"), ns: "team-b")));
        index.Upsert(WorkloadReferences.From(Deployment("orders-api", SpecUsingEnv("orders-ob-conn"))));
        changes.Clear();

        index.Replace("Pod", [PodReferences.From(Pod("kept", SpecUsingEnv("orders-ob-conn"), ns: "team-b")), PodReferences.From(Pod("new", SpecUsingEnv("github-bot")))]);

        index.UsersOfSecret(Ns, "orders-ob-conn").Should().Equal(new UsageUser("Deployment", "orders-api"));
        index.UsersOfSecret("team-b", "orders-ob-conn").Should().Equal(new UsageUser("Pod", "kept"));
        index.UsersOfSecret(Ns, "github-bot").Should().Equal(new UsageUser("Pod", "new"));
        changes.Should().BeEquivalentTo([SecretChange("orders-ob-conn"), SecretChange("github-bot")]);
    }

    [Fact]
    public void Replace_rejects_objects_of_another_kind()
    {
        var act = () => index.Replace("Pod", [WorkloadReferences.From(Deployment("orders-api", SpecUsingEnv("x")))]);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void A_handler_can_query_the_index_when_notified()
    {
        var seen = new List<int>();
        index.Changed += c => seen.Add(index.UsersOfSecret(c.Namespace, c.Name).Count);

        index.Upsert(PodReferences.From(Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"))));

        seen.Should().Equal(1);
    }

    [Fact]
    public void Equal_names_held_by_many_objects_share_one_string()
    {
        index.Upsert(PodReferences.From(Pod("a", SpecUsingEnv(new string("orders-ob-conn".AsSpan())))));
        index.Upsert(PodReferences.From(Pod("b", SpecUsingEnv(new string("orders-ob-conn".AsSpan())))));

        var a = index.Find("Pod", Ns, "a")!.SecretNames[0];
        var b = index.Find("Pod", Ns, "b")!.SecretNames[0];
        ReferenceEquals(a, b).Should().BeTrue();
    }

    [Fact]
    public void Concurrent_updates_leave_a_consistent_index()
    {
        var index = new UsageIndex();
        Parallel.For(0, 2000, i =>
        {
            var name = $"pod-{i % 200}";
            var secret = $"s-{i % 7}";
            if (i % 3 == 0)
            {
                index.Remove("Pod", Ns, name);
            }
            else
            {
                index.Upsert(ObjectReferences.Create("Pod", Ns, name, [secret]));
            }

            _ = index.UsersOfSecret(Ns, secret);
        });

        var total = Enumerable.Range(0, 7).Sum(i => index.UsersOfSecret(Ns, $"s-{i}").Count);
        total.Should().Be(index.Count);
    }
}
