using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// How soon a deletion tries again to drop a user it could not drop: a refused administrator login (or any failure that
/// needs a fix) not before the administrator's interval, since each attempt is a login that counts towards a lockout;
/// network failures with backoff, so a server that comes back is noticed.
/// </summary>
public sealed class ReleaseRetriesTests
{
    private static readonly TimeSpan AdminInterval = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));

    private static ReleaseResult Failed(string reason, TimeSpan? interval = null) =>
        new(false, reason, $"cannot drop user 'app': {reason}", interval ?? AdminInterval);

    [Theory]
    [InlineData(ValidationReasons.AuthenticationFailed)]
    [InlineData(ValidationReasons.PermissionDenied)]
    [InlineData(ValidationReasons.ProtectedUser)]
    [InlineData(ValidationReasons.InvalidSpec)]
    public void A_drop_that_needs_a_fix_is_tried_again_after_the_administrators_interval_every_time(string reason)
    {
        var retries = new ReleaseRetries(time);

        for (var attempt = 0; attempt < 3; attempt++)
        {
            retries.After("uid-app", Failed(reason)).Should().Be(AdminInterval);
            time.Advance(AdminInterval);
        }
    }

    [Fact]
    public void Only_a_drop_refused_at_the_administrators_login_keeps_the_time_an_admin_check_must_come_after()
    {
        var retries = new ReleaseRetries(time);

        retries.After("uid-app", Failed(ValidationReasons.AdminAuthenticationFailed));
        retries.AdminLoginRefusedAt("uid-app").Should().Be(time.GetUtcNow(), "an admin check after this time holds a login that works");

        time.Advance(AdminInterval);
        retries.After("uid-app", Failed(ValidationReasons.PermissionDenied));
        retries.AdminLoginRefusedAt("uid-app").Should().BeNull("a fixed admin password does not fix a missing privilege");

        retries.After("uid-app", Failed(ValidationReasons.AdminAuthenticationFailed));
        retries.Forget("uid-app");
        retries.AdminLoginRefusedAt("uid-app").Should().BeNull();
    }

    [Fact]
    public void An_administrator_checked_only_on_change_still_lets_the_deletion_end_by_itself()
    {
        new ReleaseRetries(time).After("uid-app", Failed(ValidationReasons.AuthenticationFailed, TimeSpan.Zero))
            .Should().Be(ReleaseRetries.IntervalWhenUnset);
    }

    [Fact]
    public void An_administrator_whose_interval_was_stored_under_a_second_is_not_retried_sooner_than_a_second()
    {
        // The admin credential as the provisioner reads it (UserProvisioner.AdminInterval), stored before the schema's rule.
        var admin = new ClusterCredential
        {
            Metadata = new() { Name = "admin", NamespaceProperty = "team" },
            Spec = new ClusterCredentialSpec
            {
                Engine = ClusterEngine.MySQL,
                Endpoint = new DatabaseEndpoint { Host = "db" },
                Username = "root",
                Validation = new ValidationSettings { Interval = "5ms" },
            },
        };

        new ReleaseRetries(time).After("uid-app", Failed(ValidationReasons.AuthenticationFailed, EffectiveClusterSpec.From(admin).Interval))
            .Should().Be(ValidationPlanner.ShortestInterval, "each attempt is a refused administrator login");
    }

    [Theory]
    [InlineData(ValidationReasons.Unreachable)]
    [InlineData(ValidationReasons.Timeout)]
    [InlineData(ValidationReasons.AdminNotReady)]
    public void Network_failures_and_an_admin_not_Ready_back_off_exponentially_up_to_five_minutes(string reason)
    {
        var retries = new ReleaseRetries(time);
        var waits = new List<TimeSpan>();
        for (var attempt = 0; attempt < 12; attempt++)
        {
            waits.Add(retries.After("uid-app", Failed(reason)));
            time.Advance(waits[^1]);
        }

        waits[0].Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(2));
        waits[3].Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(8)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(16));
        waits.Should().OnlyContain(wait => wait <= ValidationPlanner.TransientCap);
        waits[^1].Should().BeGreaterThanOrEqualTo(ValidationPlanner.TransientCap / 2);
    }

    [Fact]
    public void The_backoff_starts_again_after_a_failure_of_another_kind_and_for_another_credential()
    {
        var retries = new ReleaseRetries(time);
        for (var attempt = 0; attempt < 6; attempt++)
        {
            retries.After("uid-app", Failed(ValidationReasons.Unreachable));
        }

        retries.After("uid-other", Failed(ValidationReasons.Unreachable)).Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(2));
        retries.After("uid-app", Failed(ValidationReasons.AuthenticationFailed)).Should().Be(AdminInterval);
        retries.After("uid-app", Failed(ValidationReasons.Unreachable)).Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void A_short_administrator_interval_caps_the_backoff()
    {
        var retries = new ReleaseRetries(time);
        var interval = TimeSpan.FromSeconds(30);

        var waits = Enumerable.Range(0, 8).Select(_ => retries.After("uid-app", Failed(ValidationReasons.Unreachable, interval))).ToList();

        waits.Should().OnlyContain(wait => wait <= interval);
    }
}
