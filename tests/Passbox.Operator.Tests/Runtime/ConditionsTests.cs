using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Tests.Runtime;

public sealed class ConditionsTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, 250, TimeSpan.Zero));

    [Fact]
    public void A_new_condition_gets_the_current_time_truncated_to_seconds()
    {
        var conditions = new List<V1Condition>();

        Conditions.Set(conditions, "Ready", Conditions.False, "Validating", "checking", 1, time).Should().BeTrue();

        conditions.Should().ContainSingle().Which.LastTransitionTime.Should().Be(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc));
    }

    [Fact]
    public void Transition_time_moves_only_when_the_status_flips()
    {
        var conditions = new List<V1Condition>();
        Conditions.Set(conditions, "Ready", Conditions.False, "Unreachable", "no route", 1, time);
        var first = conditions[0].LastTransitionTime;

        time.Advance(TimeSpan.FromMinutes(1));
        Conditions.Set(conditions, "Ready", Conditions.False, "Timeout", "timed out", 2, time).Should().BeTrue();
        conditions[0].LastTransitionTime.Should().Be(first);
        conditions[0].Reason.Should().Be("Timeout");
        conditions[0].ObservedGeneration.Should().Be(2);

        time.Advance(TimeSpan.FromMinutes(1));
        Conditions.Set(conditions, "Ready", Conditions.True, "Validated", "ok", 2, time).Should().BeTrue();
        conditions[0].LastTransitionTime.Should().Be(first.AddMinutes(2));
    }

    [Fact]
    public void Setting_the_same_condition_again_reports_no_change()
    {
        var conditions = new List<V1Condition>();
        Conditions.Set(conditions, "Ready", Conditions.True, "Validated", "ok", 3, time);
        time.Advance(TimeSpan.FromHours(1));

        Conditions.Set(conditions, "Ready", Conditions.True, "Validated", "ok", 3, time).Should().BeFalse();
        conditions.Should().ContainSingle();
    }

    [Fact]
    public void Conditions_are_keyed_on_type()
    {
        var conditions = new List<V1Condition>();
        Conditions.Set(conditions, "Ready", Conditions.True, "Validated", "ok", 1, time);
        Conditions.Set(conditions, "SecretSynced", Conditions.False, "SecretConflict", "exists", 1, time);

        conditions.Select(condition => condition.Type).Should().Equal("Ready", "SecretSynced");
        Conditions.IsTrue(conditions, "Ready").Should().BeTrue();
        Conditions.IsTrue(conditions, "SecretSynced").Should().BeFalse();
        Conditions.Remove(conditions, "Ready").Should().BeTrue();
        Conditions.Find(conditions, "Ready").Should().BeNull();
    }
}
