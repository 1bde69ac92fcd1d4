using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// When a write refused for a cause fixed elsewhere is tried again: 1, 2, 4, 8, then 16 minutes at most, each shortened
/// by a jitter fixed per object and refusal; reset by a write that goes through, by new inputs, and by the deletion.
/// </summary>
public sealed class RefusedWriteBackoffTests
{
    private const string Key = "uid-billing";
    private const string Inputs = "1/rev-a";

    private readonly FakeTimeProvider time = PipelineTestKit.Clock();
    private readonly RefusedWriteBackoff backoff;

    public RefusedWriteBackoffTests() => backoff = new RefusedWriteBackoff(time);

    [Fact]
    public void Refusals_in_a_row_wait_twice_as_long_each_time_up_to_the_cap_and_within_the_jitter()
    {
        var ceilings = new[] { 1, 2, 4, 8, 16, 16, 16, 16 }.Select(minutes => TimeSpan.FromMinutes(minutes)).ToList();

        foreach (var ceiling in ceilings)
        {
            var wait = backoff.Refused(Key, RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota");

            wait.Should().BeGreaterThanOrEqualTo(ceiling / 2).And.BeLessThanOrEqualTo(ceiling, "the jitter only shortens, so the cap stays an upper bound");
            time.Advance(wait);
        }

        RefusedWriteBackoff.LongestRetry.Should().Be(ceilings[^1]);
    }

    [Fact]
    public void Objects_refused_at_the_same_moment_are_tried_again_at_different_moments()
    {
        var first = Enumerable.Range(0, 1000).Select(i => backoff.Refused($"uid-{i}", RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota")).ToList();

        first.Distinct().Count().Should().BeGreaterThan(990, "a thousand credentials of a full namespace must not retry in step");
        (first.Max() - first.Min()).Should().BeGreaterThan(TimeSpan.FromSeconds(25), "they spread over the lower half of the step");

        time.Advance(RefusedWriteBackoff.FirstRetry);
        var second = Enumerable.Range(0, 1000).Select(i => backoff.Refused($"uid-{i}", RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota")).ToList();
        second.Distinct().Count().Should().BeGreaterThan(990, "refused together again, they still spread");
    }

    [Fact]
    public void The_due_time_does_not_move_between_reconciles_without_a_new_refusal()
    {
        var wait = backoff.Refused(Key, RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota");

        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs).Should().Be(new RefusedWriteWait(wait, "SecretRejected", "quota"));
        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs)!.Remaining.Should().Be(wait, "asking again draws no new jitter");
        time.Advance(TimeSpan.FromSeconds(7));
        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs)!.Remaining.Should().Be(wait - TimeSpan.FromSeconds(7));
        time.Advance(wait - TimeSpan.FromSeconds(7));
        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs).Should().BeNull("once due, the write is tried");
    }

    [Fact]
    public void A_write_that_goes_through_starts_again_at_a_minute()
    {
        RefuseTimes(4).Should().BeGreaterThan(RefusedWriteBackoff.FirstRetry * 2, "four refusals in a row wait 4–8 minutes");

        backoff.Reset(Key, RefusedWrite.GeneratedSecret);

        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs).Should().BeNull();
        backoff.Refused(Key, RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota").Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }

    [Fact]
    public void New_inputs_are_tried_at_once_and_start_again_at_a_minute()
    {
        RefuseTimes(4);
        backoff.Refused(Key, RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota").Should().BeGreaterThan(RefusedWriteBackoff.FirstRetry * 4);
        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs).Should().NotBeNull("the same inputs wait");

        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, "2/rev-a").Should().BeNull("an edit of the spec is the user's fix");
        backoff.Refused(Key, RefusedWrite.GeneratedSecret, "2/rev-b", "SecretRejected", "quota").Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }

    [Fact]
    public void A_forgotten_credential_keeps_nothing_and_others_keep_theirs()
    {
        foreach (var write in Enum.GetValues<RefusedWrite>())
        {
            backoff.Refused(Key, write, Inputs, "SecretRejected", "quota");
        }

        backoff.Refused("uid-other", RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota");

        backoff.Forget(Key);

        Enum.GetValues<RefusedWrite>().Select(write => backoff.Waiting(Key, write, Inputs)).Should().OnlyContain(wait => wait == null);
        backoff.Waiting("uid-other", RefusedWrite.GeneratedSecret, Inputs).Should().NotBeNull();
    }

    [Fact]
    public void Each_write_of_a_credential_backs_off_on_its_own()
    {
        RefuseTimes(4).Should().BeGreaterThan(RefusedWriteBackoff.FirstRetry * 2);
        backoff.Waiting(Key, RefusedWrite.GeneratedSecret, Inputs).Should().NotBeNull();

        backoff.Waiting(Key, RefusedWrite.GeneratedPassword, Inputs).Should().BeNull();
        backoff.Refused(Key, RefusedWrite.GeneratedPassword, Inputs, "SecretRejected", "rbac").Should().BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
    }

    [Fact]
    public void The_message_says_what_happens()
    {
        RefusedWriteBackoff.Schedule("an edit of the credential").Should()
            .Be("tried again within 1 min, then less often (at most every 16 min); an edit of the credential is tried at once");
    }

    /// <summary>
    /// Refuses the generated Secret's write <paramref name="times"/> times, each when the one before is due; returns the
    /// last wait, not waited yet.
    /// </summary>
    private TimeSpan RefuseTimes(int times)
    {
        var wait = TimeSpan.Zero;
        for (var i = 0; i < times; i++)
        {
            time.Advance(wait);
            wait = backoff.Refused(Key, RefusedWrite.GeneratedSecret, Inputs, "SecretRejected", "quota");
        }

        return wait;
    }
}
