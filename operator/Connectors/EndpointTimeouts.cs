using System.Globalization;

namespace Passbox.Operator.Connectors;

/// <summary>
/// A server that accepts connections but does not complete a login in time (overloaded, or a proxy without backends)
/// is tried by one session at a time, and less often each time it fails (1 s, doubling up to 2.5 min: half the backoff
/// of one credential, so that a credential alone on its server is rarely held back), instead of by every credential on it
/// at its own pace. Each login given up on half way counts on the server as an interrupted
/// connection, and MySQL and MariaDB block a client host after <c>max_connect_errors</c> (100 by default) of those in
/// a row until <c>FLUSH HOSTS</c>: a thousand credentials retrying on their own would get the operator's host (the
/// node's address, behind NAT) blocked within a minute, and every application there with it. Any answer of the server
/// (a login, a refusal) ends the spell. A login that got no answer in the time it had says nothing of one given longer:
/// only sessions with not clearly more time than the longest login left unanswered are held back, so one credential with a short
/// <c>validation.timeout</c> (or a login left little time by the wait for a session slot) does not hold back every
/// credential on its server.
/// </summary>
public sealed class EndpointTimeouts(TimeProvider time)
{
    public static readonly TimeSpan FirstPause = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(150);

    /// <summary>
    /// How long a spell no session asked about is kept. Credentials on an endpoint in a spell ask at least every
    /// few minutes (their own backoff); one nobody asked about for this long has no credential left on it (deleted, or
    /// moved to another host), and a thousand credentials on a thousand dead endpoints, then deleted, would otherwise
    /// leave a thousand spells for the life of the process. Forgetting one still in use costs at most one login tried
    /// without waiting, which starts the spell afresh.
    /// </summary>
    public static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How much longer than the longest unanswered login a session's timeout must be to go ahead during a spell: a login
    /// given the same <c>validation.timeout</c> had a little less of it, what the wait for its session slot took.
    /// </summary>
    private const double MoreTime = 1.25;

    private readonly Lock gate = new();
    private readonly Dictionary<string, Spell> spells = new(StringComparer.OrdinalIgnoreCase);

    private DateTimeOffset nextSweep = DateTimeOffset.MinValue;

    /// <summary>Endpoints in a spell now (the ones not forgotten yet).</summary>
    internal int EndpointsKnown
    {
        get
        {
            lock (gate)
            {
                return spells.Count;
            }
        }
    }

    /// <summary>The record every connector of this process shares.</summary>
    public static EndpointTimeouts Shared { get; set; } = new(TimeProvider.System);

    /// <summary>
    /// Whether a session to <paramref name="endpoint"/> that gives its login <paramref name="timeout"/> may go ahead now:
    /// when the turn's <see cref="LoginTurn.HeldBack"/> is null it may (report how it ended with
    /// <see cref="LoginTurn.Ended"/>), otherwise that says why it must not connect.
    /// </summary>
    public LoginTurn Enter(string endpoint, TimeSpan timeout)
    {
        lock (gate)
        {
            var now = time.GetUtcNow();
            ForgetIdleLocked(now);
            if (!spells.TryGetValue(endpoint, out var spell))
            {
                return new LoginTurn(this, endpoint, heldBack: null);
            }

            spell.LastAsked = now;
            if (timeout > spell.LongestUnanswered * MoreTime)
            {
                // Clearly more time than any login the server left unanswered: whether it answers then is yet to be seen.
                return new LoginTurn(this, endpoint, heldBack: null);
            }

            if (spell.Trial is null && now >= spell.NextTry)
            {
                // The one login tried during the spell: only this turn ends the trial, whatever the others do meanwhile.
                var trial = new LoginTurn(this, endpoint, heldBack: null);
                spell.Trial = trial;
                return trial;
            }

            var next = spell.Trial is not null ? "a login is being tried now" : $"the next login is tried in {Seconds(spell.NextTry - now)}";
            return new LoginTurn(this, endpoint, string.Create(CultureInfo.InvariantCulture,
                $"not tried: {endpoint} did not complete the {spell.TimedOut} login(s) Passbox tried since {spell.Since:HH:mm:ss} UTC within {spell.LongestUnanswered.TotalSeconds:0.#}s; until it answers, Passbox logs in there one at a time, less often each time ({next}), so that logins given up on half way do not get this host blocked by the server (max_connect_errors)"));
        }
    }

    internal void End(LoginTurn turn, bool? timedOut, TimeSpan given)
    {
        lock (gate)
        {
            var now = time.GetUtcNow();
            ForgetIdleLocked(now);
            spells.TryGetValue(turn.Endpoint, out var spell);
            if (spell is not null)
            {
                spell.LastAsked = now;
            }

            switch (timedOut)
            {
                case true:
                    spell ??= spells[turn.Endpoint] = new Spell(now) { LastAsked = now };
                    spell.TimedOut++;
                    spell.LongestUnanswered = given > spell.LongestUnanswered ? given : spell.LongestUnanswered;
                    spell.NextTry = time.GetUtcNow() + Pause(spell.TimedOut);
                    EndTrial(spell, turn);
                    break;
                case false:
                    spells.Remove(turn.Endpoint);
                    break;
                default:
                    if (spell is not null)
                    {
                        EndTrial(spell, turn);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// A session let through before the spell began, or for its longer timeout, is no trial: cut short or unanswered, it
    /// must not let a second login go while the trial still waits for its answer.
    /// </summary>
    private static void EndTrial(Spell spell, LoginTurn turn)
    {
        if (ReferenceEquals(spell.Trial, turn))
        {
            spell.Trial = null;
        }
    }

    /// <summary>
    /// Drops the spells no session asked about for <see cref="ForgetAfter"/>. Runs on the way in of any session, at most
    /// once per <see cref="ForgetAfter"/>: spells are only added by sessions, so they cannot pile up between sweeps.
    /// </summary>
    private void ForgetIdleLocked(DateTimeOffset now)
    {
        if (now < nextSweep || spells.Count == 0)
        {
            return;
        }

        nextSweep = now + ForgetAfter;
        foreach (var (endpoint, spell) in spells)
        {
            if (now - spell.LastAsked >= ForgetAfter)
            {
                spells.Remove(endpoint);
            }
        }
    }

    private static TimeSpan Pause(int timedOut) =>
        TimeSpan.FromMilliseconds(Math.Min(LongestPause.TotalMilliseconds, FirstPause.TotalMilliseconds * Math.Pow(2, Math.Clamp(timedOut - 1, 0, 20))));

    private static string Seconds(TimeSpan span) => Math.Ceiling(Math.Max(0, span.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";

    private sealed class Spell(DateTimeOffset since)
    {
        public DateTimeOffset Since { get; } = since;

        public int TimedOut { get; set; }

        public DateTimeOffset NextTry { get; set; }

        /// <summary>The most time a login that got no answer had: sessions given more are not held back.</summary>
        public TimeSpan LongestUnanswered { get; set; }

        /// <summary>The session trying the endpoint now, if one is: the others wait for its answer.</summary>
        public LoginTurn? Trial { get; set; }

        /// <summary>When a session last asked about this endpoint or reported on it.</summary>
        public DateTimeOffset LastAsked { get; set; }
    }
}
