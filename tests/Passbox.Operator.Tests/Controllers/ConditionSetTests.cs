using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

public sealed class ConditionSetTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 25, 10, 0, 0, 250, TimeSpan.Zero));

    [Fact]
    public void Transition_time_changes_only_when_the_status_flips()
    {
        var set = new ConditionSet(null, 1, time);
        set.Set("Ready", false, "Unreachable", "down");
        var first = set.Find("Ready")!.LastTransitionTime;

        time.Advance(TimeSpan.FromMinutes(1));
        set.Set("Ready", false, "Timeout", "slow");
        set.Find("Ready")!.LastTransitionTime.Should().Be(first);
        set.Find("Ready")!.Reason.Should().Be("Timeout");

        time.Advance(TimeSpan.FromMinutes(1));
        set.Set("Ready", true, "Validated", "ok");
        set.Find("Ready")!.LastTransitionTime.Should().Be(first.AddMinutes(2));
    }

    [Fact]
    public void Times_are_whole_seconds_so_a_round_trip_through_the_api_server_compares_equal()
    {
        var set = new ConditionSet(null, 1, time);
        set.Set("Ready", true, "Validated", "ok");

        set.Find("Ready")!.LastTransitionTime.Millisecond.Should().Be(0);
    }

    [Fact]
    public void Setting_the_same_values_again_leaves_the_list_identical()
    {
        var set = new ConditionSet(null, 3, time);
        set.Set("Validated", true, "Validated", "ok");
        set.Set("Ready", true, "Validated", "ok");
        var before = k8s.KubernetesJson.Serialize(set.ToList());

        var again = new ConditionSet(set.ToList(), 3, time);
        time.Advance(TimeSpan.FromHours(1));
        again.Set("Ready", true, "Validated", "ok");
        again.Set("Validated", true, "Validated", "ok");

        k8s.KubernetesJson.Serialize(again.ToList()).Should().Be(before);
    }

    [Fact]
    public void Ready_comes_first_and_the_rest_in_name_order()
    {
        var set = new ConditionSet(null, 1, time);
        set.Set("Validated", true, "Validated", "ok");
        set.Set("SecretSynced", true, "Synced", "ok");
        set.Set("Ready", true, "Validated", "ok");

        set.ToList().Select(c => c.Type).Should().Equal("Ready", "SecretSynced", "Validated");
    }
}
