using System.Collections.Concurrent;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Runtime.Status;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A failed check shows in the operator's log, not only in the conditions and Events: one line when Ready changes (turns
/// False, changes its reason, recovers), none for a retry or periodic check that finds the same, with the condition's
/// own message (no secret) and the credential in structured fields a JSON log carries.
/// </summary>
public sealed class ReadinessLogTests
{
    private const string Password = "Orders-Pw-7d1f!";

    private readonly FakeTimeProvider time = Clock();
    private readonly V1ConfigMap credential = Credential("orders-db");
    private readonly CapturingLogger log = new();

    [Fact]
    public async Task A_refused_login_is_logged_once_with_the_status_message_not_again_at_the_next_check_and_its_recovery_once()
    {
        var kind = new SwitchableKind();
        var pipeline = PipelineTestKit.Pipeline(AcceptingCreates(), new NoGeneratedSecrets(), time);
        var status = new ClusterCredentialStatus();

        // The server's own words quote the password sent: the connector leaves them out, and so must the log.
        kind.Outcome = Refused($"Access denied for user 'app' (password '{Password}')");
        await ReconcileAsync(pipeline, kind, status);

        var failed = log.Entries.Should().ContainSingle().Subject;
        failed.Level.Should().Be(LogLevel.Warning);
        failed.Message.Should().Contain("ClusterCredential team/orders-db").And.Contain(ValidationReasons.AuthenticationFailed)
            .And.Contain(SecretRedaction.LeftOut).And.NotContain(Password);
        failed.Fields.Should().Contain("Namespace", "team").And.Contain("Name", "orders-db").And.Contain("Reason", ValidationReasons.AuthenticationFailed);
        failed.Fields["Detail"].Should().Be(status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Message, "the status's message, nothing more");

        // The next periodic check is refused again, in other words: the same outcome, no new line.
        kind.Outcome = Refused("Access denied for user 'app' (using password: YES)");
        time.Advance(TimeSpan.FromMinutes(10));
        await ReconcileAsync(pipeline, kind, status);
        kind.Logins.Should().Be(2);
        log.Entries.Should().HaveCount(1, "a retry that finds the same reason is no news");

        kind.Outcome = ValidationOutcome.Success("Logged in to db:3306 as app", "11.4");
        time.Advance(TimeSpan.FromMinutes(10));
        await ReconcileAsync(pipeline, kind, status);

        log.Entries.Should().HaveCount(2);
        var recovered = log.Entries.Last();
        recovered.Level.Should().Be(LogLevel.Information);
        recovered.Message.Should().Contain("ClusterCredential team/orders-db is Ready").And.Contain($"was not Ready, {ValidationReasons.AuthenticationFailed}");
        recovered.Fields.Should().Contain("Reason", ConditionReasons.Validated);

        // Checked again (an interval and its jitter later) and still fine: nothing.
        time.Advance(TimeSpan.FromMinutes(15));
        await ReconcileAsync(pipeline, kind, status);
        kind.Logins.Should().Be(4);
        log.Entries.Should().HaveCount(2);
    }

    [Fact]
    public async Task A_new_credential_that_passes_its_first_check_adds_no_line_of_its_own()
    {
        var kind = new SwitchableKind { Outcome = ValidationOutcome.Success("Logged in", "11.4") };
        var status = new ClusterCredentialStatus();

        await ReconcileAsync(PipelineTestKit.Pipeline(AcceptingCreates(), new NoGeneratedSecrets(), time), kind, status);

        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
        log.Entries.Should().BeEmpty("the publisher's \"Created generated Secret\" line already tells it");
    }

    [Fact]
    public void A_change_of_reason_while_not_Ready_is_logged_and_a_new_message_of_the_same_reason_is_not()
    {
        var unreachable = Ready("False", ValidationReasons.Unreachable, "db:3306: Connection refused");

        ReadinessLog.Changed(log, "PipelineCredential", credential.Metadata, Ready("False", ValidationReasons.Unreachable, "db: Name does not resolve"), unreachable);
        log.Entries.Should().BeEmpty();

        ReadinessLog.Changed(log, "PipelineCredential", credential.Metadata, unreachable, Ready("False", ValidationReasons.Timeout, "the check did not finish within 10s"));
        var line = log.Entries.Should().ContainSingle().Subject;
        line.Message.Should().Be("PipelineCredential team/orders-db is not Ready: Timeout (was not Ready, Unreachable): the check did not finish within 10s");
    }

    [Fact]
    public void A_Ready_credential_whose_Secret_is_refused_is_logged_and_waiting_for_a_first_check_is_not()
    {
        ReadinessLog.Changed(log, "ClusterCredential", credential.Metadata, null, Ready("False", ConditionReasons.Progressing, "waiting for the first check"));
        log.Entries.Should().BeEmpty("no outcome yet");

        ReadinessLog.Changed(log, "ClusterCredential", credential.Metadata, Ready("True", ConditionReasons.Validated, "Secret orders-db is ready"),
            Ready("False", ConditionReasons.SecretRejected, "the API server refused Secret orders-db: exceeded quota"));
        log.Entries.Should().ContainSingle().Which.Message.Should().Contain("is not Ready: SecretRejected (was Ready, Validated)");
    }

    [Fact]
    public async Task A_JSON_log_carries_the_credential_and_the_reason_as_fields_of_one_valid_object()
    {
        await using var app = Passbox.Operator.Hosting.PassboxOperator.Build(["--urls=http://127.0.0.1:0", "--leader-elect=false", "--Logging:Console:FormatterName=json"]);
        var json = new JsonConsole(app.Services.GetServices<ConsoleFormatter>().Single(f => f.Name == ConsoleFormatterNames.Json));

        ReadinessLog.Changed(json, "ClusterCredential", credential.Metadata, Ready("True", ConditionReasons.Validated, "Secret orders-db is ready"),
            Ready("False", ValidationReasons.AuthenticationFailed, "db:3306 refused user 'app'"));

        // Parsed strictly, as a log store would: one object, no field twice (the formatter writes its own State.Message,
        // so the condition's message goes in Detail).
        using var parsed = System.Text.Json.JsonDocument.Parse(json.Lines.Should().ContainSingle().Subject, new System.Text.Json.JsonDocumentOptions { AllowDuplicateProperties = false });
        var state = parsed.RootElement.GetProperty("State");
        state.GetProperty("Namespace").GetString().Should().Be("team");
        state.GetProperty("Name").GetString().Should().Be("orders-db");
        state.GetProperty("Reason").GetString().Should().Be(ValidationReasons.AuthenticationFailed);
        state.GetProperty("Detail").GetString().Should().Be("db:3306 refused user 'app'");
    }

    private static ValidationOutcome Refused(string serverMessage)
    {
        var login = new DatabaseLogin { Host = "db", Port = 3306, LoginName = "app", Password = Password };
        return SecretRedaction.Failure(ValidationReasons.AuthenticationFailed, $"db:3306 refused user 'app': {SecretRedaction.Redact(serverMessage, login)}", login);
    }

    private static List<V1Condition> Ready(string status, string reason, string message) =>
        [new V1Condition { Type = ConditionTypes.Ready, Status = status, Reason = reason, Message = message, LastTransitionTime = Start.UtcDateTime }];

    /// <summary>What the reconciler does around the pipeline: compares Ready in the status it started from with the one it wrote.</summary>
    private async Task ReconcileAsync(CredentialPipeline pipeline, TestCredentialKind kind, CredentialStatus status)
    {
        var before = Conditions.Copy(status.Conditions);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        ReadinessLog.Changed(log, kind.KindName, credential.Metadata, before, status.Conditions);
    }

    private sealed class SwitchableKind : TestCredentialKind
    {
        public ValidationOutcome Outcome { get; set; } = ValidationOutcome.Success("Logged in");

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(Outcome);
    }

    /// <summary>Writes each entry with the operator's JSON console formatter, one line each.</summary>
    private sealed class JsonConsole(ConsoleFormatter formatter) : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> format)
        {
            using var console = new StringWriter();
            formatter.Write(new LogEntry<TState>(logLevel, "Passbox.Operator.Controllers.Shared.CredentialReconciler", eventId, state, exception, format),
                new LoggerExternalScopeProvider(), console);
            Lines.Add(console.ToString());
        }
    }

    /// <summary>Keeps each entry's level, formatted message and structured fields, as the JSON console formatter writes them.</summary>
    private sealed class CapturingLogger : ILogger
    {
        public ConcurrentQueue<Entry> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.ToDictionary(p => p.Key, p => p.Value?.ToString())
                : [];
            Entries.Enqueue(new Entry(logLevel, formatter(state, exception), fields));
        }

        public sealed record Entry(LogLevel Level, string Message, Dictionary<string, string?> Fields);
    }
}
