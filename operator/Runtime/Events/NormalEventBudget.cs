namespace Passbox.Operator.Runtime.Events;

/// <summary>
/// How many Normal events the operator may write: a burst, refilled at a steady rate (a token bucket). A person applying
/// a few credentials sees every event; a sync that creates thousands at once gets the first ones and then a trickle,
/// instead of one Event per credential in etcd for an hour and one more write per credential for the API server while
/// it is busiest. Warnings are never held back: they say what someone has to act on.
/// </summary>
public sealed class NormalEventBudget
{
    private readonly Lock gate = new();
    private readonly double perSecond;
    private readonly double burst;
    private double tokens;
    private DateTimeOffset refilledAt;

    public NormalEventBudget(double perSecond, int burst, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        this.perSecond = perSecond;
        this.burst = burst;
        tokens = burst;
        refilledAt = now;
    }

    /// <summary>Takes one event's worth of budget; false when the budget is spent for now.</summary>
    public bool TryTake(DateTimeOffset now)
    {
        lock (gate)
        {
            if (now > refilledAt)
            {
                tokens = Math.Min(burst, tokens + ((now - refilledAt).TotalSeconds * perSecond));
                refilledAt = now;
            }

            if (tokens < 1)
            {
                return false;
            }

            tokens--;
            return true;
        }
    }
}
