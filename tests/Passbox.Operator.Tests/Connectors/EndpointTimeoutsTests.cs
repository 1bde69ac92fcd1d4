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

        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().BeNull();
        var answered = timeouts.Enter(Endpoint, LoginTimeout);
        answered.HeldBack.Should().BeNull("sessions at once are for the session limit to bound");
        answered.Ended(timedOut: false, LoginTimeout);
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().BeNull();
    }

    [Fact]
    public void After_a_timeout_one_login_at_a_time_is_tried_and_the_pause_doubles()
    {
        var timeouts = new EndpointTimeouts(time);
        LetThrough(timeouts, LoginTimeout).Ended(timedOut: true, LoginTimeout);

        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("max_connect_errors").And.Contain("in 1s").And.Contain(Endpoint);
        time.Advance(EndpointTimeouts.FirstPause);
        var trial = LetThrough(timeouts, LoginTimeout, "the pause is over: one login is tried");
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now");
        trial.Ended(timedOut: true, LoginTimeout);

        time.Advance(TimeSpan.FromSeconds(1.5));
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().NotBeNull("the second pause is 2 s");
        time.Advance(TimeSpan.FromSeconds(0.5));
        LetThrough(timeouts, LoginTimeout).Ended(timedOut: false, LoginTimeout);

        LetThrough(timeouts, LoginTimeout, "the server answered: the spell is over");
        LetThrough(timeouts, LoginTimeout);
    }

    [Fact]
    public void A_try_cut_short_by_its_caller_lets_the_next_one_go_and_pauses_stop_growing_at_the_cap()
    {
        var timeouts = new EndpointTimeouts(time);
        for (var i = 0; i < 20; i++)
        {
            time.Advance(EndpointTimeouts.LongestPause);
            LetThrough(timeouts, LoginTimeout).Ended(timedOut: true, LoginTimeout);
        }

        time.Advance(EndpointTimeouts.LongestPause - TimeSpan.FromSeconds(1));
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("in 1s");
        time.Advance(TimeSpan.FromSeconds(1));
        LetThrough(timeouts, LoginTimeout).Ended(timedOut: null, LoginTimeout);
        LetThrough(timeouts, LoginTimeout, "the try before told nothing");
        timeouts.Enter("other:3306", LoginTimeout).HeldBack.Should().BeNull();
    }

    [Fact]
    public void A_login_left_unanswered_within_a_short_time_holds_back_only_sessions_given_no_more()
    {
        // One credential with validation.timeout 1s on a server whose logins take longer (or a login left 1 s by the wait
        // for a session slot) said nothing of the others, which give their logins 5 s: they were all held back.
        var timeouts = new EndpointTimeouts(time);
        LetThrough(timeouts, TimeSpan.FromSeconds(1)).Ended(timedOut: true, TimeSpan.FromSeconds(1));

        timeouts.Enter(Endpoint, TimeSpan.FromSeconds(1)).HeldBack.Should().Contain("not tried").And.Contain("within 1s");
        LetThrough(timeouts, LoginTimeout, "a login given 5 s may well be answered").Ended(timedOut: true, LoginTimeout);

        time.Advance(TimeSpan.FromMinutes(1));
        LetThrough(timeouts, LoginTimeout, "the pause is over: one login is tried");
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now").And.Contain("within 5s");
        LetThrough(timeouts, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Only_the_trial_login_ends_the_trial_not_a_session_let_through_before_or_beside_it()
    {
        // Sessions let through before the spell began, or for their longer timeout, ended (cut short for newer inputs, or
        // unanswered themselves) while the one trial login still waited: that cleared the trial's mark, and a second login
        // went to a server that completes none, each one given up on counting towards max_connect_errors.
        var timeouts = new EndpointTimeouts(time);
        var before = LetThrough(timeouts, LoginTimeout);
        var unanswered = LetThrough(timeouts, LoginTimeout);
        var first = LetThrough(timeouts, LoginTimeout);
        first.Ended(timedOut: true, LoginTimeout);
        var patient = LetThrough(timeouts, TimeSpan.FromSeconds(10), "a login given twice as long may well be answered");

        time.Advance(EndpointTimeouts.FirstPause);
        var trial = LetThrough(timeouts, LoginTimeout, "the pause is over: one login is tried");
        before.Ended(timedOut: null, LoginTimeout);
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now", "a session cut short that was not the trial ends no trial");
        unanswered.Ended(timedOut: true, LoginTimeout);
        time.Advance(TimeSpan.FromSeconds(3));
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now", "nor does one left unanswered beside it");
        patient.Ended(timedOut: null, TimeSpan.FromSeconds(10));
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now");
        first.Ended(timedOut: null, LoginTimeout);
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now", "a turn ends once");

        trial.Ended(timedOut: null, LoginTimeout);
        time.Advance(EndpointTimeouts.LongestPause);
        LetThrough(timeouts, LoginTimeout, "the trial was cut short: the next one goes");
        timeouts.Enter(Endpoint, LoginTimeout).HeldBack.Should().Contain("a login is being tried now");
    }

    private static LoginTurn LetThrough(EndpointTimeouts timeouts, TimeSpan timeout, string because = "", string endpoint = Endpoint)
    {
        var turn = timeouts.Enter(endpoint, timeout);
        turn.HeldBack.Should().BeNull(because);
        return turn;
    }

    [Fact]
    public void Endpoints_no_credential_asks_about_any_more_are_forgotten()
    {
        // A thousand credentials, each on its own endpoint that never answers, then deleted.
        var timeouts = new EndpointTimeouts(time);
        for (var i = 0; i < 1000; i++)
        {
            var endpoint = $"db-{i}:3306";
            LetThrough(timeouts, LoginTimeout, endpoint: endpoint).Ended(timedOut: true, LoginTimeout);
        }

        timeouts.EndpointsKnown.Should().Be(1000);

        // One credential still on its dead endpoint keeps asking, at its own backoff.
        for (var elapsed = TimeSpan.Zero; elapsed <= EndpointTimeouts.ForgetAfter; elapsed += EndpointTimeouts.LongestPause)
        {
            time.Advance(EndpointTimeouts.LongestPause);
            var turn = timeouts.Enter("db-0:3306", LoginTimeout);
            turn.Ended(timedOut: true, LoginTimeout);
        }

        timeouts.EndpointsKnown.Should().Be(1, "the 999 endpoints no session asked about for ten minutes are forgotten");
        timeouts.Enter("db-0:3306", LoginTimeout).HeldBack.Should().NotBeNull("the endpoint still asked about stays in its spell");
    }
}
