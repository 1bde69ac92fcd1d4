using Passbox.Operator.Controllers.Shared;

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
    public void A_written_check_the_status_does_not_show_is_unshown_and_a_deliberately_unwritten_one_is_not()
    {
        var memory = new CheckMemory();
        var shownAt = Now.UtcDateTime;
        memory.Remember("u", new PreviousCheck("rev", Now.AddMinutes(10).AddMilliseconds(300), null, false, "AuthenticationFailed", 0));

        memory.Unshown("u", shownAt, "rev")!.Reason.Should().Be("AuthenticationFailed", "its status write did not arrive");
        memory.Unshown("u", StatusTime.Truncate(Now.AddMinutes(10).UtcDateTime), "rev").Should().BeNull("the status shows it");
        memory.Unshown("u", StatusTime.Truncate(Now.AddMinutes(10).UtcDateTime), "rev2").Should().NotBeNull("another check of that second");

        memory.Remember("u", new PreviousCheck("rev", Now.AddMinutes(20), Now.AddMinutes(20), true, "Validated", 0), written: false);
        memory.Unshown("u", shownAt, "rev").Should().BeNull("a check that confirmed the status is left out of it on purpose");
        memory.Unshown("other", shownAt, "rev").Should().BeNull();
    }

    [Fact]
    public void A_check_whose_status_was_not_written_is_not_waited_for_and_its_failure_is_still_remembered()
    {
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("old-spec", Now, null, false, "Timeout", 1));

        // The spec changed while the check ran: its status was not written, so none is on its way to the cache.
        memory.NotWritten("u");

        memory.StatusLags("u", null, "old-spec", Now.AddSeconds(1)).Should().BeFalse("the next pass checks the new spec at once");
        memory.Newest("u", new PreviousCheck(null, null, null, null, null, 0)).Reason.Should().Be("Timeout",
            "what the check found is still known, so a refused login is not tried again");
        memory.TransientFailures("u").Should().Be(1);
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

        memory.StatusLags("u", null, "rev", Now.AddSeconds(1)).Should().BeTrue();
        memory.StatusLags("u", Now.UtcDateTime, "rev", Now.AddSeconds(1)).Should().BeFalse("the status shows that check");
        memory.StatusLags("u", null, "rev", Now + CheckMemory.CacheLagAllowance).Should().BeFalse("a lost write must not block the credential forever");
        memory.StatusLags("other", null, "rev", Now).Should().BeFalse();
    }

    [Fact]
    public void A_check_remembered_to_the_millisecond_is_the_one_a_status_with_whole_seconds_shows()
    {
        var memory = new CheckMemory();
        var exact = Now.AddMilliseconds(900);
        memory.Remember("u", new PreviousCheck("rev", exact, null, false, "AdminNotReady", 1));
        var shown = new PreviousCheck("rev", Now, null, false, "AdminNotReady", 0);

        memory.StatusLags("u", Now.UtcDateTime, "rev", exact.AddMilliseconds(50)).Should().BeFalse("the status shows that check, to the second");
        memory.StatusLags("u", Now.AddSeconds(-1).UtcDateTime, "rev", exact.AddMilliseconds(50)).Should().BeTrue("the status shows an older check");
        memory.Newest("u", shown).LastAttempted.Should().Be(exact, "the next check is planned from the exact time, not up to a second earlier");
    }

    [Fact]
    public void A_check_that_was_deliberately_not_written_does_not_make_the_status_look_stale()
    {
        var memory = new CheckMemory();
        var written = Now - TimeSpan.FromMinutes(10);
        memory.Remember("u", new PreviousCheck("rev", written, written, true, "Validated", 0));
        memory.Remember("u", new PreviousCheck("rev", Now, Now, true, "Validated", 0), written: false);

        memory.StatusLags("u", written.UtcDateTime, "rev", Now.AddSeconds(1)).Should().BeFalse("the status already shows everything this process wrote");
        memory.StatusLags("u", null, "rev", Now.AddSeconds(1)).Should().BeFalse("the last write is long past the cache lag allowance");
        memory.Newest("u", new PreviousCheck("rev", written, written, true, "Validated", 0)).LastAttempted
            .Should().Be(Now, "the next check is planned from the unwritten one, an interval later");
    }

    [Fact]
    public void A_cached_status_of_the_same_second_lags_when_it_shows_another_revision_than_the_one_written()
    {
        // A first check and the check of new inputs right after it can fall in one second: the cache showing the first
        // one is behind the second write although its time looks the same.
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("first", Now.AddMilliseconds(100), Now.AddMilliseconds(100), true, "Validated", 0));
        memory.Remember("u", new PreviousCheck("second", Now.AddMilliseconds(700), Now.AddMilliseconds(700), true, "Validated", 0));

        memory.StatusLags("u", Now.UtcDateTime, "first", Now.AddSeconds(1)).Should().BeTrue();
        memory.StatusLags("u", Now.UtcDateTime, "second", Now.AddSeconds(1)).Should().BeFalse("the status shows the last write");
        memory.StatusLags("u", Now.UtcDateTime, "first", Now + CheckMemory.CacheLagAllowance + TimeSpan.FromSeconds(1))
            .Should().BeFalse("a lost write must not hold the credential back forever");
    }

    [Fact]
    public void A_successful_check_the_status_does_not_show_is_not_trusted_so_the_credential_is_checked_again()
    {
        // Its status write was lost (or undone by a pass working from an older copy): the published Secret may not be
        // that check's, and planning from memory would hold the credential back with nothing to bring it forward.
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("new", Now, Now, true, "Validated", 0));

        var previous = memory.Newest("u", new PreviousCheck("old", Now.AddSeconds(-30), Now.AddSeconds(-30), true, "Validated", 0));

        previous.AttemptedRevision.Should().Be("old", "the planner then sees new inputs and checks them");
        memory.Newest("u", new PreviousCheck("new", Now, Now, true, "Validated", 0)).LastAttempted.Should().Be(Now);
    }

    [Fact]
    public void A_failed_check_the_status_does_not_show_is_still_taken_from_memory_so_the_login_is_not_refused_twice()
    {
        var memory = new CheckMemory();
        memory.Remember("u", new PreviousCheck("new", Now, null, false, "AuthenticationFailed", 0, "Access denied for user 'app'"));

        var previous = memory.Newest("u", new PreviousCheck("old", Now.AddSeconds(-30), Now.AddSeconds(-30), true, "Validated", 0));

        previous.AttemptedRevision.Should().Be("new");
        previous.Message.Should().Be("Access denied for user 'app'", "the status can show the failure it missed");
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
}
