using System.Globalization;
using Passbox.Operator.Runtime.LeaderElection;

namespace Passbox.Operator.Hosting;

/// <summary>
/// The operator's settings, from the command line (<c>--leader-elect=false</c>, <c>--kubeconfig=…</c>,
/// <c>--workers=4</c>, <c>--max-sessions-per-endpoint=4</c>) and the environment the Helm chart and kustomize config set (POD_NAME, POD_NAMESPACE,
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
        };
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
