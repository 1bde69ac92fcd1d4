using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// One log line when a credential's <c>Ready</c> condition changes its state or reason: a failed check (a refused
/// password, an unreachable host), a source Secret gone, a Secret the API server refuses, and the recovery. Without it
/// such failures showed only in the conditions and Events, and searching the operator's log for a credential found
/// nothing. Only changes are logged, judged from the status written against the one it replaced: a retry or periodic
/// check that finds the same (a new message of the same reason included) is silent, so a thousand credentials on a dead
/// database log a thousand lines once, not at every interval. A new credential that turns Ready at once logs nothing
/// here: the publisher's "Created generated Secret" line tells it. The message is the condition's own, which connectors
/// have already cleared of secrets.
/// </summary>
public static partial class ReadinessLog
{
    /// <summary>Logs the change from <paramref name="before"/> to <paramref name="after"/>, if there is one worth a line.</summary>
    public static void Changed(ILogger logger, string kind, V1ObjectMeta meta, IEnumerable<V1Condition>? before, IEnumerable<V1Condition>? after)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(meta);
        var was = Conditions.Find(before, ConditionTypes.Ready);
        var now = Conditions.Find(after, ConditionTypes.Ready);
        if (now is null || (was is not null && was.Status == now.Status && was.Reason == now.Reason))
        {
            return;
        }

        if (IsFailure(now))
        {
            LogNotReady(logger, kind, meta.NamespaceProperty, meta.Name, now.Reason, Describe(was), now.Message);
        }
        else if (now.Status == Conditions.True && was is not null && (IsFailure(was) || was.Status == Conditions.True))
        {
            // Not the first pass of a new credential (nothing before it, or still waiting for its first check).
            LogReady(logger, kind, meta.NamespaceProperty, meta.Name, now.Reason, Describe(was), now.Message);
        }
    }

    /// <summary>False for a cause; not while waiting for the first check (<see cref="ConditionReasons.Progressing"/>), which is no outcome.</summary>
    private static bool IsFailure(V1Condition condition) =>
        condition.Status == Conditions.False && condition.Reason != ConditionReasons.Progressing;

    private static string Describe(V1Condition? was) => was switch
    {
        null => "new",
        { Status: Conditions.True } => $"Ready, {was.Reason}",
        _ => $"not Ready, {was.Reason}",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} {Namespace}/{Name} is not Ready: {Reason} (was {Previous}): {Detail}")]
    private static partial void LogNotReady(ILogger logger, string kind, string @namespace, string name, string reason, string previous, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} {Namespace}/{Name} is Ready: {Reason} (was {Previous}): {Detail}")]
    private static partial void LogReady(ILogger logger, string kind, string @namespace, string name, string reason, string previous, string detail);
}
