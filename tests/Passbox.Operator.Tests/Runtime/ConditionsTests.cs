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

    [Fact]
    public void A_message_longer_than_the_CRD_allows_is_cut_with_a_mark_and_setting_it_again_changes_nothing()
    {
        var conditions = new List<V1Condition>();
        var huge = "available contexts: " + string.Concat(Enumerable.Repeat("\"ctx\", ", 20000));

        Conditions.Set(conditions, "Validated", Conditions.False, "InvalidKubeconfig", huge, 1, time);

        var message = conditions[0].Message;
        message.Length.Should().BeLessThanOrEqualTo(Conditions.MaxMessageLength);
        message.Should().StartWith("available contexts: \"ctx\"").And.EndWith(Conditions.TruncationMark);
        Conditions.Set(conditions, "Validated", Conditions.False, "InvalidKubeconfig", huge, 1, time).Should().BeFalse();
    }

    [Fact]
    public void A_cut_never_splits_a_character_in_two()
    {
        var conditions = new List<V1Condition>();
        // After the first character, every one is a surrogate pair whose high half sits where a plain cut would fall.
        var huge = "x" + string.Concat(Enumerable.Repeat("\U0001F511", Conditions.MaxMessageLength));

        Conditions.Set(conditions, "Ready", Conditions.False, "Unreachable", huge, 1, time);

        var kept = conditions[0].Message[..^Conditions.TruncationMark.Length];
        char.IsHighSurrogate(kept[^1]).Should().BeFalse();
        kept.Length.Should().BeLessThanOrEqualTo(Conditions.MaxMessageLength - Conditions.TruncationMark.Length);
    }

    [Fact]
    public void The_limit_is_the_one_the_CRDs_declare()
    {
        var crd = File.ReadAllText(Path.Combine(RepositoryRoot(), "crds", "clustercredentials.passbox.dev.yaml"));

        crd.Should().Contain($"maxLength: {Conditions.MaxMessageLength}\n");
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Passbox.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Passbox.slnx) not found");
    }
}
