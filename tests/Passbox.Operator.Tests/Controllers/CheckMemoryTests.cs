using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Controllers;

public sealed class CheckMemoryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_check_newer_than_the_cached_status_wins_so_a_stale_cache_cannot_cause_a_second_login()
    {
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("rev", Now, null, false, "AuthenticationFailed", 0));

        var plan = memory.Newest("u", new PreviousCheck(null, null, null, null, null, 0));

        plan.AttemptedRevision.Should().Be("rev");
        plan.Reason.Should().Be("AuthenticationFailed");
    }

    [Fact]
    public void A_newer_status_wins_but_keeps_the_remembered_failure_count()
    {
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("rev", Now, null, false, "Unreachable", 3));

        var plan = memory.Newest("u", new PreviousCheck("rev2", Now.AddMinutes(1), null, true, "Validated", 0));

        plan.AttemptedRevision.Should().Be("rev2");
        plan.ConsecutiveTransientFailures.Should().Be(3);
    }

    [Fact]
    public void The_status_lags_only_for_a_few_seconds_after_the_own_check()
    {
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("rev", Now, null, true, "Validated", 0));

        memory.StatusLags("u", null, Now.AddSeconds(1)).Should().BeTrue();
        memory.StatusLags("u", Now.UtcDateTime, Now.AddSeconds(1)).Should().BeFalse("the status shows that check");
        memory.StatusLags("u", null, Now + CheckMemory.CacheLagAllowance).Should().BeFalse("a lost write must not block the credential forever");
        memory.StatusLags("other", null, Now).Should().BeFalse();
    }

    [Fact]
    public void A_check_that_was_deliberately_not_written_does_not_make_the_status_look_stale()
    {
        var memory = new CheckMemory();
        var written = Now - TimeSpan.FromMinutes(10);
        memory.Remember("u", new PreviousCheck("rev", written, written, true, "Validated", 0));
        memory.Remember("u", new PreviousCheck("rev", Now, Now, true, "Validated", 0), written: false);

        memory.StatusLags("u", written.UtcDateTime, Now.AddSeconds(1)).Should().BeFalse("the status already shows everything this process wrote");
        memory.StatusLags("u", null, Now.AddSeconds(1)).Should().BeFalse("the last write is long past the cache lag allowance");
        memory.Newest("u", new PreviousCheck("rev", written, written, true, "Validated", 0)).LastAttempted
            .Should().Be(Now, "the next check is planned from the unwritten one, an interval later");
    }

    [Fact]
    public void The_first_sight_of_an_object_is_fixed_until_it_is_forgotten()
    {
        var memory = new CheckMemory();

        memory.FirstSeen("u", Now).Should().Be(Now);
        memory.FirstSeen("u", Now.AddMinutes(3)).Should().Be(Now);
        memory.Forget("u");
        memory.FirstSeen("u", Now.AddMinutes(3)).Should().Be(Now.AddMinutes(3));
    }

    [Fact]
    public void A_ClusterCredential_that_disappears_without_its_cleanup_is_forgotten() =>
        ForgottenOnDeletion(new ClusterCredential { Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = "team", Uid = "uid-c" } });

    [Fact]
    public void A_PipelineCredential_that_disappears_without_its_cleanup_is_forgotten() =>
        ForgottenOnDeletion(new PipelineCredential { Metadata = new V1ObjectMeta { Name = "deploy", NamespaceProperty = "team", Uid = "uid-p" } });

    /// <summary>Its finalizer removed by hand, the object is gone before the reconciler's deletion path runs.</summary>
    private static void ForgottenOnDeletion<T>(T credential)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var memory = new CheckMemory();
        var informer = new FakeInformer<T>(ResourceDescriptor.For<T>());
        using var subscription = memory.ForgetDeleted(informer);
        var other = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(credential));
        other.Metadata.Name = "other";
        other.Metadata.Uid = "uid-other";
        informer.Apply(credential);
        informer.Apply(other);
        var key = CheckMemory.KeyOf(credential);
        memory.Remember(key, new PreviousCheck("rev", Now, Now, true, "Validated", 0));
        memory.FirstSeen(key, Now);
        memory.Remember("uid-other", new PreviousCheck("rev", Now, Now, true, "Validated", 0));

        informer.Apply(credential);
        memory.StatusLags(key, null, Now.AddSeconds(1)).Should().BeTrue("an update is not a deletion");

        informer.Delete(credential);

        memory.StatusLags(key, null, Now.AddSeconds(1)).Should().BeFalse("nothing is remembered of the deleted credential");
        memory.Newest(key, new PreviousCheck(null, null, null, null, null, 0)).AttemptedRevision.Should().BeNull();
        memory.FirstSeen(key, Now.AddMinutes(3)).Should().Be(Now.AddMinutes(3));
        memory.StatusLags("uid-other", null, Now.AddSeconds(1)).Should().BeTrue("other credentials are remembered as before");
    }
}
