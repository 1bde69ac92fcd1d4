using System.Globalization;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.LeaderElection;

namespace Passbox.Operator.Hosting;

/// <summary>
/// The operator's settings, from the command line (<c>--leader-elect=false</c>, <c>--kubeconfig=…</c>,
/// <c>--workers=4</c>, <c>--max-sessions-per-endpoint=4</c>, <c>--termination-grace-period-seconds=30</c>) and the environment the Helm chart and kustomize config set (POD_NAME, POD_NAMESPACE,
/// PASSBOX_WATCH_NAMESPACE, PASSBOX_LEADER_ELECTION_NAMESPACE, PASSBOX_LEADER_ELECTION_NAME).
/// </summary>
public sealed record OperatorSettings(
    bool LeaderElect,
    string? Kubeconfig,
    string? WatchNamespace,
    string LeaseNamespace,
    string LeaseName,
    string Identity,
    int Workers)
{
    /// <summary>
    /// Database sessions (checks and administrator sessions) open at once to one <c>host:port</c>, at most
    /// (see <see cref="Connectors.EndpointSessionLimit"/>).
    /// </summary>
    public int MaxSessionsPerEndpoint { get; init; } = Connectors.EndpointSessionLimit.DefaultPerEndpoint;

    /// <summary>
    /// The pods' <c>terminationGracePeriodSeconds</c> (the chart passes its value): the graceful stop's budget is cut to
    /// fit it, and what it has beyond the default goes to the in-flight reconciles.
    /// </summary>
    public TimeSpan TerminationGracePeriod { get; init; } = ShutdownBudget.DefaultPodGracePeriod;

    public static OperatorSettings From(IConfiguration configuration)
    {
        var podName = configuration["POD_NAME"];
        return new OperatorSettings(
            LeaderElect: !bool.TryParse(configuration["leader-elect"], out var elect) || elect,
            Kubeconfig: Blank(configuration["kubeconfig"]),
            WatchNamespace: Blank(configuration["PASSBOX_WATCH_NAMESPACE"]),
            LeaseNamespace: Blank(configuration["PASSBOX_LEADER_ELECTION_NAMESPACE"]) ?? Blank(configuration["POD_NAMESPACE"]) ?? "default",

            // One lease per installation: two releases in one namespace (each watching its own namespace) must not
            // take turns leading. The chart names it after the release; "passbox-operator" is what it always was.
            LeaseName: Blank(configuration["PASSBOX_LEADER_ELECTION_NAME"]) ?? LeaderElectionOptions.DefaultLeaseName,
            Identity: Blank(podName) ?? $"{Environment.MachineName}-{Guid.NewGuid().ToString("N")[..8]}",
            Workers: int.TryParse(configuration["workers"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var workers) && workers > 0 ? workers : 4)
        {
            MaxSessionsPerEndpoint = int.TryParse(configuration["max-sessions-per-endpoint"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var sessions)
                && sessions > 0 ? sessions : Connectors.EndpointSessionLimit.DefaultPerEndpoint,
            TerminationGracePeriod = GracePeriod(configuration["termination-grace-period-seconds"]),
        };
    }

    /// <summary>
    /// Refused rather than defaulted when wrong: a budget of 30 s in a pod killed sooner loses the lease release and the
    /// last Events, and one of 30 s in a pod given more cancels reconciles the user gave time to.
    /// </summary>
    private static TimeSpan GracePeriod(string? value)
    {
        if (Blank(value) is not { } seconds)
        {
            return ShutdownBudget.DefaultPodGracePeriod;
        }

        var minimum = (int)ShutdownBudget.DefaultPodGracePeriod.TotalSeconds;
        if (!int.TryParse(seconds, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || parsed < minimum)
        {
            throw new ArgumentException(
                $"--termination-grace-period-seconds={seconds} is not a whole number of seconds of at least {minimum}: give the pods' terminationGracePeriodSeconds");
        }

        return TimeSpan.FromSeconds(parsed);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
