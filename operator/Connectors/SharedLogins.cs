using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Identical logins of several credentials (same engine, endpoint, user, password or API key and TLS settings) made as
/// one. Every refused login counts towards the account's own limit (MariaDB's <c>max_password_errors</c>, MySQL's
/// <c>FAILED_LOGIN_ATTEMPTS</c>): 200 credentials that share a user and a source Secret changed to a wrong password
/// would each be refused once and lock out an account that workloads use. So a login that runs is joined by the identical
/// ones asked for meanwhile, and a refusal is the answer to the identical ones asked for within <see cref="RefusalKept"/>
/// after it: a storm of checks makes a few logins, one per <see cref="RefusalKept"/> at most. Short, so that a
/// password fixed on the server is logged in with again soon by any check that comes later, and a different password (the
/// Secret fixed) is another login anyway. Logins are told apart by a keyed fingerprint (HMAC-SHA256 under a key made
/// for this process), which stays in memory and is never logged: the password itself is not kept.
/// </summary>
public sealed class SharedLogins
{
    /// <summary>How long a refusal answers the identical logins asked for after it.</summary>
    public static readonly TimeSpan RefusalKept = TimeSpan.FromSeconds(15);

    private readonly DatabaseConnectors connectors;
    private readonly TimeProvider time;
    private readonly byte[] fingerprintKey = RandomNumberGenerator.GetBytes(32);
    private readonly Lock gate = new();
    private readonly Dictionary<string, TaskCompletionSource<ValidationOutcome>> running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ValidationOutcome Outcome, DateTimeOffset At, string Asker)> refused = new(StringComparer.Ordinal);

    public SharedLogins(DatabaseConnectors connectors, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(connectors);
        ArgumentNullException.ThrowIfNull(time);
        this.connectors = connectors;
        this.time = time;
    }

    /// <summary>
    /// Validates <paramref name="login"/>, or takes the answer of an identical login running now, or of one another
    /// <paramref name="asker"/> had refused less than <see cref="RefusalKept"/> ago (told so in its message). A refusal is
    /// never the answer to the asker whose own login it was: its next check comes at its own interval, which its owner
    /// chose, and must see a password fixed on the server meanwhile. Cancellation by the caller is passed on as always.
    /// </summary>
    public async Task<ValidationOutcome> ValidateAsync(DatabaseEngine engine, DatabaseLogin login, string asker, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(login);
        var account = Fingerprint(engine, login, withDatabase: false);
        var attempt = Fingerprint(engine, login, withDatabase: true);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            TaskCompletionSource<ValidationOutcome>? mine = null;
            Task<ValidationOutcome> other;
            lock (gate)
            {
                if (Reusable(account, login, asker) is { } refusal)
                {
                    return refusal;
                }

                if (running.TryGetValue(attempt, out var joined))
                {
                    other = joined.Task;
                }
                else
                {
                    mine = new TaskCompletionSource<ValidationOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
                    running[attempt] = mine;
                    other = mine.Task;
                }
            }

            if (mine is not null)
            {
                return await RunAsync(engine, login, account, attempt, asker, mine, ct);
            }

            try
            {
                // Joined: refused, it is the refusal of another credential's login, as one reused a moment later is.
                var outcome = await other.WaitAsync(ct);
                return outcome.Reason == ValidationReasons.AuthenticationFailed ? AsShared(outcome, TimeSpan.Zero, login) : outcome;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The login joined was cut short by its own caller (newer inputs): this one makes its own.
            }
        }
    }

    /// <summary>
    /// Validates <paramref name="login"/> on its own, never with another's answer (a managed user's login right after
    /// the administrator set its password); a success ends the refusal kept for the same login, which is stale now.
    /// </summary>
    public async Task<ValidationOutcome> ValidateAloneAsync(DatabaseEngine engine, DatabaseLogin login, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(login);
        var outcome = await connectors.ValidateAsync(engine, login, ct);
        if (outcome.Succeeded)
        {
            var account = Fingerprint(engine, login, withDatabase: false);
            lock (gate)
            {
                refused.Remove(account);
            }
        }

        return outcome;
    }

    private async Task<ValidationOutcome> RunAsync(DatabaseEngine engine, DatabaseLogin login, string account, string attempt,
        string asker, TaskCompletionSource<ValidationOutcome> mine, CancellationToken ct)
    {
        try
        {
            var outcome = await connectors.ValidateAsync(engine, login, ct);
            lock (gate)
            {
                running.Remove(attempt);
                Prune();
                if (outcome.Reason == ValidationReasons.AuthenticationFailed)
                {
                    refused[account] = (outcome, time.GetUtcNow(), asker);
                }
                else if (outcome.Succeeded)
                {
                    refused.Remove(account);
                }
            }

            mine.SetResult(outcome);
            return outcome;
        }
        catch (OperationCanceledException)
        {
            lock (gate)
            {
                running.Remove(attempt);
            }

            mine.SetCanceled(CancellationToken.None);
            throw;
        }
        catch (Exception e)
        {
            lock (gate)
            {
                running.Remove(attempt);
            }

            mine.SetException(e);
            throw;
        }
    }

    /// <summary>
    /// The refusal of this account's login less than <see cref="RefusalKept"/> ago by another asker, saying so; null
    /// otherwise (the refusal is kept for the others).
    /// </summary>
    private ValidationOutcome? Reusable(string account, DatabaseLogin login, string asker)
    {
        if (!refused.TryGetValue(account, out var kept))
        {
            return null;
        }

        var age = time.GetUtcNow() - kept.At;
        if (age >= RefusalKept || age < TimeSpan.Zero)
        {
            refused.Remove(account);
            return null;
        }

        return kept.Asker == asker ? null : AsShared(kept.Outcome, age, login);
    }

    /// <summary>The refusal of an identical login <paramref name="age"/> ago, as this credential's answer.</summary>
    private static ValidationOutcome AsShared(ValidationOutcome refusal, TimeSpan age, DatabaseLogin login)
    {
        var when = age < TimeSpan.FromSeconds(1)
            ? "just now"
            : $"{((int)Math.Ceiling(age.TotalSeconds)).ToString(CultureInfo.InvariantCulture)}s ago";
        var what = string.IsNullOrEmpty(login.ApiKey) ? "user and password were" : "API key was";
        return refusal with
        {
            Message = $"{refusal.Message.TrimEnd().TrimEnd('.')}. The same {what} refused {when} at an identical login; as each " +
                      "refused login counts towards the account's lock-out limit, that answer is reused for " +
                      $"{(int)RefusalKept.TotalSeconds}s instead of logging in again.",
            SharedRefusalEndsIn = RefusalKept - age,
        };
    }

    /// <summary>Refusals too old to answer anything; the number of distinct refused logins within a few seconds is small.</summary>
    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var stale in refused.Where(entry => now - entry.Value.At >= RefusalKept).Select(entry => entry.Key).ToList())
        {
            refused.Remove(stale);
        }
    }

    /// <summary>
    /// The keyed fingerprint of a login: everything the server's answer to the login itself depends on, and, for a login
    /// to join another that is running, the database it selects and the time it has too (their answers differ).
    /// </summary>
    private string Fingerprint(DatabaseEngine engine, DatabaseLogin login, bool withDatabase)
    {
        var text = new StringBuilder();
        Add(engine.ToString());
        Add(login.Host.ToLowerInvariant());
        Add(login.Port.ToString(CultureInfo.InvariantCulture));
        Add(login.LoginName);
        Add(login.Password);
        Add(login.ApiKey);
        Add(login.Tls.Mode.ToString());
        Add(login.Tls.CaCertificatePem);
        if (withDatabase)
        {
            Add(login.Database);
            Add(login.Timeout.Ticks.ToString(CultureInfo.InvariantCulture));
        }

        return Convert.ToHexString(HMACSHA256.HashData(fingerprintKey, Encoding.UTF8.GetBytes(text.ToString())));

        // Each field with its length first, so no two different logins read the same.
        void Add(string? value) =>
            text.Append(value is null ? "-" : value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('\n');
    }
}
