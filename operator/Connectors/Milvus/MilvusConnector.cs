using System.Net;
using Grpc.Core;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>
/// Validates a Milvus / Zilliz Cloud login (user and password, or API key) with <c>Connect</c>, the
/// call pymilvus uses; servers without it (before 2.2.9) are checked with <c>CheckHealth</c>. Every
/// Milvus call authenticates, so the usual validation is exactly one authenticated call; the
/// version comes from Connect's server info and costs a <c>GetVersion</c> call only when missing.
/// </summary>
/// <param name="proxy">The proxy to reach servers through; by default the environment's (HTTPS_PROXY, NO_PROXY).</param>
public sealed class MilvusConnector(IWebProxy? proxy = null) : IDatabaseConnector
{
    public DatabaseEngine Engine => DatabaseEngine.Milvus;

    public async Task<ValidationOutcome> ValidateAsync(DatabaseLogin login, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(login);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(login.Timeout, TimeSpan.Zero, nameof(login));
        if (string.IsNullOrEmpty(login.ApiKey) && string.IsNullOrEmpty(login.LoginName))
        {
            return ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "Neither a user name nor an API key was given.");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(login.Timeout);
        var limit = EndpointSessionLimit.Shared;

        // Each check is a client of its own, with its own connection: bounded per endpoint like a MySQL session, and held
        // until the client (declared after it, so disposed first) has closed that connection.
        using var slot = await limit.TryEnterAsync(login.Endpoint, timeout.Token, ct);
        if (slot is null)
        {
            return ValidationOutcome.Failure(ValidationReasons.Timeout, limit.Busy(login.Endpoint, login.Timeout));
        }

        MilvusClient client;
        try
        {
            client = MilvusClient.Create(login, proxy);
        }
        catch (ArgumentException ex)
        {
            return SecretRedaction.Failure(ValidationReasons.TLSFailed, $"TLS to {login.Endpoint}: {SecretRedaction.Redact(ex.Message, login)}", login);
        }
        catch (UriFormatException)
        {
            return SecretRedaction.Failure(ValidationReasons.InvalidSpec, MilvusClient.AddressProblem(login), login);
        }

        using (client)
        {
            try
            {
                var (version, note) = await LogInAsync(client, login, timeout.Token);
                var who = string.IsNullOrEmpty(login.ApiKey) ? $"as '{login.LoginName}'" : "with the API key";
                var database = string.IsNullOrEmpty(login.Database) ? string.Empty : $", database '{login.Database}'";
                var server = ServerVersionText.Quoted(version, login) is { } quoted ? $"; server {quoted}" : string.Empty;
                return ValidationOutcome.Success($"Logged in to {login.Endpoint} {who}{database}{server}{SecretRedaction.Redact(note, login)}." +
                    UncheckedTlsNote.For(login.Tls.Mode, mayFallBack: false),
                    SecretRedaction.Version(version, login));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                throw new OperationCanceledException(ct);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return await MilvusErrors.DiagnoseAsync(ex, login, client.CertificateFailure, timeout.Token);
            }
        }
    }

    private static async Task<(string? Version, string Note)> LogInAsync(MilvusClient client, DatabaseLogin login, CancellationToken ct)
    {
        try
        {
            var info = await client.ConnectAsync(ct);
            var version = string.IsNullOrEmpty(info.BuildTags) ? await TryGetVersionAsync(client, ct) : info.BuildTags;
            return (version, string.Empty);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            // Before Milvus 2.2.9 there is no Connect; CheckHealth authenticates just the same but
            // does not look at the database, so a named database is checked by listing them.
            var (healthy, reasons) = await client.CheckHealthAsync(ct);
            if (!string.IsNullOrEmpty(login.Database) && login.Database != "default")
            {
                await EnsureDatabaseExistsAsync(client, login.Database, ct);
            }

            var note = healthy ? string.Empty : $" (server reports unhealthy: {string.Join("; ", reasons)})";
            return (await TryGetVersionAsync(client, ct), note);
        }
    }

    private static async Task EnsureDatabaseExistsAsync(MilvusClient client, string database, CancellationToken ct)
    {
        IReadOnlyList<string> databases;
        try
        {
            databases = await client.ListDatabasesAsync(ct);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            // A server without databases: only "default" exists.
            databases = ["default"];
        }

        if (!databases.Contains(database, StringComparer.Ordinal))
        {
            throw new MilvusStatusException("ListDatabases", MilvusStatus.DatabaseNotFound, 0, $"database not found[database={database}]");
        }
    }

    private static async Task<string?> TryGetVersionAsync(MilvusClient client, CancellationToken ct)
    {
        try
        {
            var version = await client.GetVersionAsync(ct);
            return string.IsNullOrEmpty(version) ? null : version;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unimplemented or StatusCode.PermissionDenied)
        {
            return null;
        }
        catch (MilvusStatusException)
        {
            return null;
        }
    }
}
