namespace Passbox.Operator.Runtime.LeaderElection;

public sealed record LeaderElectionOptions
{
    /// <summary>Off for local runs with a single process; on in the cluster where replicas may overlap.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The lease an installation leads unless told another (PASSBOX_LEADER_ELECTION_NAME); what it always was.</summary>
    public const string DefaultLeaseName = "passbox-operator";

    public string LeaseName { get; init; } = DefaultLeaseName;

    /// <summary>Defaults to the POD_NAMESPACE environment variable, then <c>default</c>.</summary>
    public string? LeaseNamespace { get; init; }

    /// <summary>Defaults to the POD_NAME environment variable, then host name plus a random suffix.</summary>
    public string? Identity { get; init; }

    /// <summary>How long a lease stays valid without renewal; a crashed leader is replaced after about this long.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The leader gives up (and the process stops) if it cannot renew within this time.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause between acquire/renew attempts.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long handing the lease back on a graceful stop may take (a read and a write); the runtime sets it from its
    /// shutdown budget (<c>ShutdownBudget.LeaseRelease</c>), so the Events queued behind it still get their time.
    /// </summary>
    public TimeSpan ReleaseTimeout { get; init; } = TimeSpan.FromSeconds(3);

    internal string ResolveNamespace() =>
        LeaseNamespace ?? NonEmpty(Environment.GetEnvironmentVariable("POD_NAMESPACE")) ?? "default";

    internal string ResolveIdentity() =>
        Identity ?? NonEmpty(Environment.GetEnvironmentVariable("POD_NAME")) ?? $"{Environment.MachineName}_{Guid.NewGuid():N}"[..(Environment.MachineName.Length + 9)];

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
