namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Asks the API server whether it would take the write of the credential's Secret with the inputs of this check, without
/// making it (a dry run). A provisioning step asks just before it changes the password of a user whose Secret is already
/// published: changed first and refused after (an admission policy or webhook that denies changes of that Secret, a
/// ResourceQuota, RBAC), the published Secret would keep a password that no longer logs in, and every workload using it
/// would be locked out for as long as the refusal lasts. Told a refusal, or no answer at all (the API server failed or could
/// not be reached: what it would say is unknown), the step changes nothing and returns its failure; the pass then reports
/// it as a refused write of the Secret (<see cref="Refusal"/>) and records no check, since none ran.
/// </summary>
public sealed class PublishTrial(Func<CancellationToken, Task<PublishTrial.Answer>> ask)
{
    /// <summary>What the API server said: the refusal, or null; and when a refusal fixed elsewhere is tried again.</summary>
    public sealed record Answer(SecretRefusalReport? Refusal, TimeSpan? RetryAfter)
    {
        public static Answer Taken { get; } = new(null, null);
    }

    /// <summary>The refusal the last trial met; null when none was asked for, or the write would be taken.</summary>
    public SecretRefusalReport? Refusal { get; private set; }

    /// <summary>When a refusal fixed elsewhere is tried again; null when only an edit fixes it.</summary>
    public TimeSpan? RetryAfter { get; private set; }

    /// <summary>Asks; null when the write would be taken, else why not (values already cut out of the server's words).</summary>
    public async Task<SecretRefusalReport?> RefusalAsync(CancellationToken ct)
    {
        var answer = await ask(ct);
        (Refusal, RetryAfter) = (answer.Refusal, answer.RetryAfter);
        return Refusal;
    }
}
