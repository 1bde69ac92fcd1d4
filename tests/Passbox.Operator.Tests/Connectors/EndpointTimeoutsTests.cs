using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Connectors;

namespace Passbox.Operator.Tests.Connectors;

public sealed class EndpointTimeoutsTests
{
    private const string Endpoint = "db:3306";

    private static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider time = new(DateTimeOffset.Parse("2026-11-29T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void An_endpoint_that_answers_is_never_held_back()
    {
        var timeouts = new EndpointTimeouts(time);

        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull("sessions at once are for the session limit to bound");
        timeouts.Ended(Endpoint, timedOut: false, LoginTimeout);
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
    }

    [Fact]
    public void After_a_timeout_one_login_at_a_time_is_tried_and_the_pause_doubles()
    {
        var timeouts = new EndpointTimeouts(time);
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
        timeouts.Ended(Endpoint, timedOut: true, LoginTimeout);

        timeouts.HoldBack(Endpoint, LoginTimeout).Should().Contain("max_connect_errors").And.Contain("in 1s").And.Contain(Endpoint);
        time.Advance(EndpointTimeouts.FirstPause);
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull("the pause is over: one login is tried");
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().Contain("a login is being tried now");
        timeouts.Ended(Endpoint, timedOut: true, LoginTimeout);

        time.Advance(TimeSpan.FromSeconds(1.5));
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().NotBeNull("the second pause is 2 s");
        time.Advance(TimeSpan.FromSeconds(0.5));
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
        timeouts.Ended(Endpoint, timedOut: false, LoginTimeout);

        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull("the server answered: the spell is over");
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
    }

    [Fact]
    public void A_try_cut_short_by_its_caller_lets_the_next_one_go_and_pauses_stop_growing_at_the_cap()
    {
        var timeouts = new EndpointTimeouts(time);
        for (var i = 0; i < 20; i++)
        {
            time.Advance(EndpointTimeouts.LongestPause);
            timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
            timeouts.Ended(Endpoint, timedOut: true, LoginTimeout);
        }

        time.Advance(EndpointTimeouts.LongestPause - TimeSpan.FromSeconds(1));
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().Contain("in 1s");
        time.Advance(TimeSpan.FromSeconds(1));
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull();
        timeouts.Ended(Endpoint, timedOut: null, LoginTimeout);
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull("the try before told nothing");
        timeouts.HoldBack("other:3306", LoginTimeout).Should().BeNull();
    }

    [Fact]
    public void A_login_left_unanswered_within_a_short_time_holds_back_only_sessions_given_no_more()
    {
        // One credential with validation.timeout 1s on a server whose logins take longer (or a login left 1 s by the wait
        // for a session slot) said nothing of the others, which give their logins 5 s: they were all held back.
        var timeouts = new EndpointTimeouts(time);
        timeouts.HoldBack(Endpoint, TimeSpan.FromSeconds(1)).Should().BeNull();
        timeouts.Ended(Endpoint, timedOut: true, TimeSpan.FromSeconds(1));

        timeouts.HoldBack(Endpoint, TimeSpan.FromSeconds(1)).Should().Contain("not tried").And.Contain("within 1s");
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull("a login given 5 s may well be answered");
        timeouts.Ended(Endpoint, timedOut: true, LoginTimeout);

        time.Advance(TimeSpan.FromMinutes(1));
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().BeNull("the pause is over: one login is tried");
        timeouts.HoldBack(Endpoint, LoginTimeout).Should().Contain("a login is being tried now").And.Contain("within 5s");
        timeouts.HoldBack(Endpoint, TimeSpan.FromSeconds(10)).Should().BeNull();
    }

    [Fact]
    public void Endpoints_no_credential_asks_about_any_more_are_forgotten()
    {
        // A thousand credentials, each on its own endpoint that never answers, then deleted.
        var timeouts = new EndpointTimeouts(time);
        for (var i = 0; i < 1000; i++)
        {
            var endpoint = $"db-{i}:3306";
            timeouts.HoldBack(endpoint, LoginTimeout).Should().BeNull();
            timeouts.Ended(endpoint, timedOut: true, LoginTimeout);
        }

        timeouts.EndpointsKnown.Should().Be(1000);

        // One credential still on its dead endpoint keeps asking, at its own backoff.
        for (var elapsed = TimeSpan.Zero; elapsed <= EndpointTimeouts.ForgetAfter; elapsed += EndpointTimeouts.LongestPause)
        {
            time.Advance(EndpointTimeouts.LongestPause);
            if (timeouts.HoldBack("db-0:3306", LoginTimeout) is null)
            {
                timeouts.Ended("db-0:3306", timedOut: true, LoginTimeout);
            }
        }

        timeouts.EndpointsKnown.Should().Be(1, "the 999 endpoints no session asked about for ten minutes are forgotten");
        timeouts.HoldBack("db-0:3306", LoginTimeout).Should().NotBeNull("the endpoint still asked about stays in its spell");
    }
}
