using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

public sealed class ValidationPlannerTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    private readonly FakeTimeProvider time = new(Start);

    private ValidationPlan Plan(PreviousCheck previous, string revision = "rev1", TimeSpan? interval = null) =>
        new ValidationPlanner(time).Plan(revision, interval ?? Interval, previous, "uid-1");

    [Fact]
    public void A_credential_never_checked_is_checked_at_once()
    {
        Plan(new PreviousCheck(null, null, null, null, null, 0)).ValidateNow.Should().BeTrue();
    }

    [Fact]
    public void Changed_inputs_are_checked_at_once_even_right_after_a_refused_login()
    {
        var previous = new PreviousCheck("rev1", Start, null, false, "AuthenticationFailed", 0);

        Plan(previous, revision: "rev2").ValidateNow.Should().BeTrue();
    }

    [Fact]
    public void A_refused_login_is_not_retried_before_the_interval()
    {
        var previous = new PreviousCheck("rev1", Start, null, false, "AuthenticationFailed", 0);
        time.Advance(TimeSpan.FromMinutes(9));

        var plan = Plan(previous);

        plan.ValidateNow.Should().BeFalse();
        plan.RequeueAfter.Should().Be(TimeSpan.FromMinutes(1));
        time.Advance(TimeSpan.FromMinutes(1));
        Plan(previous).ValidateNow.Should().BeTrue();
    }

    [Fact]
    public void A_refusal_another_credentials_identical_login_got_is_followed_by_one_login_of_its_own_when_that_refusal_is_no_longer_reused()
    {
        // Without it, a credential answered with a refusal shared a moment before (see SharedLogins) waited an interval
        // like one whose own login was refused, even when the password was fixed on the server a second after the Secret.
        var previous = new PreviousCheck("rev1", Start, null, false, "AuthenticationFailed", 0, "refused", SharedRefusalRetryAt: Start + TimeSpan.FromSeconds(15));

        Plan(previous).RequeueAfter.Should().Be(TimeSpan.FromSeconds(15));
        time.Advance(TimeSpan.FromSeconds(15));
        Plan(previous).ValidateNow.Should().BeTrue();
    }

    [Fact]
    public void A_refused_login_with_interval_zero_waits_for_a_change()
    {
        var previous = new PreviousCheck("rev1", Start, null, false, "AuthenticationFailed", 0);
        time.Advance(TimeSpan.FromDays(1));

        Plan(previous, interval: TimeSpan.Zero).Should().Be(ValidationPlan.Wait(null));
    }

    [Fact]
    public void A_good_login_is_checked_again_after_the_interval_plus_at_most_ten_percent()
    {
        var previous = new PreviousCheck("rev1", Start, Start, true, "Validated", 0);

        var plan = Plan(previous);

        plan.ValidateNow.Should().BeFalse();
        plan.RequeueAfter.Should().BeGreaterThanOrEqualTo(Interval).And.BeLessThanOrEqualTo(Interval * 1.1);
        time.Advance(Interval * 1.1);
        Plan(previous).ValidateNow.Should().BeTrue();
    }

    [Fact]
    public void The_due_time_is_the_same_on_every_reconcile_of_one_object()
    {
        var previous = new PreviousCheck("rev1", Start, Start, true, "Validated", 0);
        var first = Plan(previous).RequeueAfter!.Value;
        time.Advance(TimeSpan.FromMinutes(3));

        Plan(previous).RequeueAfter.Should().Be(first - TimeSpan.FromMinutes(3));
    }

    [Fact]
    public void Different_objects_get_different_spreads()
    {
        var previous = new PreviousCheck("rev1", Start, Start, true, "Validated", 0);
        var planner = new ValidationPlanner(time);

        var dues = Enumerable.Range(0, 50).Select(i => planner.Plan("rev1", Interval, previous, $"uid-{i}").RequeueAfter).Distinct();

        dues.Should().HaveCountGreaterThan(40);
    }

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(2, 2, 4)]
    [InlineData(3, 4, 8)]
    [InlineData(12, 150, 300)]
    public void Network_failures_back_off_exponentially_with_jitter_up_to_a_cap(int failures, double minSeconds, double maxSeconds)
    {
        foreach (var jitter in new[] { 0.0, 0.5, 0.999 })
        {
            var delay = ValidationPlanner.Backoff(failures, ValidationPlanner.TransientCap, jitter);
            delay.TotalSeconds.Should().BeInRange(minSeconds, maxSeconds);
        }
    }

    [Fact]
    public void Network_failures_never_wait_longer_than_a_short_interval()
    {
        var previous = new PreviousCheck("rev1", Start, null, false, "Unreachable", 30);

        var plan = Plan(previous, interval: TimeSpan.FromSeconds(30));

        plan.RequeueAfter.Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("AuthenticationFailed", false)]
    [InlineData("Validated", true)]
    [InlineData("Unreachable", false)]
    public void An_interval_under_a_second_stored_before_the_schema_refused_it_waits_a_second(string reason, bool succeeded)
    {
        var previous = new PreviousCheck("rev1", Start, succeeded ? Start : null, succeeded, reason, 5);
        time.Advance(TimeSpan.FromMilliseconds(300));

        var stored = ValidationPlanner.ParseInterval("5ms", Interval);

        var plan = Plan(previous, interval: stored);

        // Network failures back off from half the interval (jitter), the others wait it in full.
        plan.ValidateNow.Should().BeFalse("a refused password retried every 5 ms locks the account");
        plan.RequeueAfter.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
        time.Advance(TimeSpan.FromSeconds(1.1));
        Plan(previous, interval: stored).ValidateNow.Should().BeTrue();
    }

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(4, 8, 16)]
    [InlineData(20, 150, 300)]
    public void A_reason_the_kind_backs_off_on_backs_off_like_a_network_failure_instead_of_waiting_the_interval(int failures, double minSeconds, double maxSeconds)
    {
        var previous = new PreviousCheck("rev1", Start, null, false, "TLSFailed", failures);

        var plan = new ValidationPlanner(time).Plan("rev1", TimeSpan.FromHours(1), previous, "uid-1", backsOff: reason => reason == "TLSFailed");

        plan.ValidateNow.Should().BeFalse();
        plan.RequeueAfter!.Value.TotalSeconds.Should().BeInRange(minSeconds, maxSeconds);
        Plan(previous, interval: TimeSpan.FromHours(1)).RequeueAfter.Should().Be(TimeSpan.FromHours(1), "without the kind's word it waits the interval");
    }

    [Fact]
    public void Network_failures_are_retried_even_with_interval_zero()
    {
        var previous = new PreviousCheck("rev1", Start, null, false, "Timeout", 1);

        Plan(previous, interval: TimeSpan.Zero).RequeueAfter.Should().NotBeNull();
    }

    [Fact]
    public void After_a_restart_overdue_checks_are_spread_over_one_interval_and_each_keeps_its_own_due_time()
    {
        var planner = new ValidationPlanner(time);
        var lastChecked = Start - TimeSpan.FromHours(1);
        var waits = Enumerable.Range(0, 200).Select(i =>
        {
            var plan = planner.Plan("rev1", Interval, new PreviousCheck("rev1", lastChecked, lastChecked, true, "Validated", 0), $"uid-{i}", firstSeen: Start);
            plan.ValidateNow.Should().BeFalse($"uid-{i} must not log in the moment the operator starts");
            return plan.RequeueAfter!.Value;
        }).ToList();

        waits.Should().OnlyContain(w => w > TimeSpan.Zero && w < Interval);
        waits.Count(w => w < Interval / 2).Should().BeInRange(60, 140, "the backlog is spread, not bunched");

        // Later reconciles of the same object compute the same moment, and then it is due.
        var previous = new PreviousCheck("rev1", lastChecked, lastChecked, true, "Validated", 0);
        var first = planner.Plan("rev1", Interval, previous, "uid-0", firstSeen: Start).RequeueAfter!.Value;
        time.Advance(first - TimeSpan.FromSeconds(1));
        planner.Plan("rev1", Interval, previous, "uid-0", firstSeen: Start).RequeueAfter.Should().Be(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        planner.Plan("rev1", Interval, previous, "uid-0", firstSeen: Start).ValidateNow.Should().BeTrue();
    }

    [Fact]
    public void With_a_long_interval_a_restart_still_runs_overdue_checks_within_ten_minutes()
    {
        var planner = new ValidationPlanner(time);
        var daily = TimeSpan.FromHours(24);
        var lastChecked = Start - TimeSpan.FromDays(3);
        var waits = Enumerable.Range(0, 200)
            .Select(i => planner.Plan("rev1", daily, new PreviousCheck("rev1", lastChecked, lastChecked, true, "Validated", 0), $"uid-{i}", firstSeen: Start))
            .Select(plan => plan.RequeueAfter ?? TimeSpan.Zero)
            .ToList();

        waits.Should().OnlyContain(w => w <= ValidationPlanner.MaxStartupSpread, "a check three days overdue must not wait up to another day");
        waits.Count(w => w > TimeSpan.FromMinutes(5)).Should().BeInRange(60, 140, "the backlog is still spread over the window");
    }

    [Fact]
    public void A_restart_does_not_delay_a_check_that_was_not_yet_overdue_nor_one_for_new_inputs()
    {
        var planner = new ValidationPlanner(time);
        var recent = new PreviousCheck("rev1", Start - TimeSpan.FromMinutes(8), Start - TimeSpan.FromMinutes(8), true, "Validated", 0);

        var plan = planner.Plan("rev1", Interval, recent, "uid-1", firstSeen: Start);

        plan.RequeueAfter.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(2)).And.BeLessThanOrEqualTo(TimeSpan.FromMinutes(3));
        planner.Plan("rev2", Interval, recent, "uid-1", firstSeen: Start).ValidateNow.Should().BeTrue();
    }
}
