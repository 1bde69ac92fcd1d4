namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Times written into a status, truncated to whole seconds like Kubernetes' own timestamps, so a status read back
/// from the API server compares equal to the one that was written and no write is repeated.
/// </summary>
public static class StatusTime
{
    public static DateTime Now(TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
    }

    public static DateTime Truncate(DateTime time) =>
        new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
}
