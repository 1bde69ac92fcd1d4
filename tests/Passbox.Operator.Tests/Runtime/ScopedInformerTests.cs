using System.Collections.Concurrent;
using System.Net;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// Informers limited to a <see cref="NamespaceScope"/>: what they keep, how a namespace that joins later is listed
/// without a gap and without a full relist, and how one that leaves is dropped without anything of it coming back.
/// </summary>
public sealed class ScopedInformerTests
{
    private const string AllWidgets = "/apis/test.passbox.dev/v1/widgets";
    private const string Gone = """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410}}""";
    private static readonly ResourceDescriptor Widgets = ResourceDescriptor.For<Widget>();

    private readonly FakeTimeProvider time = new();
    private readonly TaskCompletionSource endWatch = new();

    [Fact]
    public async Task Objects_outside_the_scope_are_neither_held_nor_reported_nor_transformed()
    {
        var scope = new NamespaceScope();
        scope.Include("team-a");
        var watches = 0;
        var server = new FakeApiServer(async request =>
        {
            if (!request.IsWatch)
            {
                return List("20", In("team-a", "a", "10"), In("team-b", "b", "11"));
            }

            if (Interlocked.Increment(ref watches) == 1)
            {
                return FakeApiServer.Watch(
                    Event("ADDED", In("team-c", "x", "21")),
                    Event("ADDED", In("team-a", "d", "22")),
                    Event("DELETED", In("team-b", "b", "23")));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var transformed = new ConcurrentQueue<string>();
        var informer = Scoped(server, scope, widget =>
        {
            transformed.Enqueue(widget.Metadata.Name);
            return widget;
        });
        var seen = Record(informer);

        await using (Run(informer))
        {
            await FakeApiServer.WaitUntilAsync(() => informer.Cache.Count == 2 && watches >= 2);

            seen.Should().Equal("Added team-a/a@10", "Added team-a/d@22");
            transformed.Should().Equal("a", "d");
            scope.IsComplete("team-a").Should().BeTrue();
            scope.IsComplete("team-b").Should().BeFalse("team-b is not in scope");
            server.Requests.Should().NotContain(r => r.Path.Contains("/namespaces/", StringComparison.Ordinal), "the scope was known before the first list");
        }
    }

    [Fact]
    public async Task A_namespace_that_joins_after_the_first_list_is_listed_on_its_own_and_retried_until_it_is()
    {
        var scope = new NamespaceScope();
        scope.Include("team-a");
        var release = new TaskCompletionSource();
        var fills = 0;
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                await release.Task;
                return Interlocked.Increment(ref fills) == 1
                    ? FakeApiServer.Status(HttpStatusCode.Forbidden, "Forbidden", "widgets is forbidden")
                    : List("40", In("team-b", "b", "11"), In("team-b", "e", "39"));
            }

            if (!request.IsWatch)
            {
                return List("20", In("team-a", "a", "10"), In("team-b", "b", "11"));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var informer = Scoped(server, scope);
        var seen = Record(informer);

        await using (Run(informer))
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            scope.Include("team-b");
            scope.IsComplete("team-b").Should().BeFalse("its objects are not listed yet");

            release.SetResult();
            await FakeApiServer.WaitUntilAsync(() => scope.FillProblem("team-b") is not null);
            scope.FillProblem("team-b").Should().Contain("403").And.Contain("Forbidden");
            scope.IsComplete("team-b").Should().BeFalse("a failed list must not read as an empty namespace");

            // The retry waits for the informer's reconnect backoff.
            await FakeApiServer.WaitUntilAsync(() =>
            {
                time.Advance(TimeSpan.FromMilliseconds(200));
                return scope.IsComplete("team-b");
            });

            seen.Should().Equal("Added team-a/a@10", "Added team-b/b@11", "Added team-b/e@39");
            informer.Cache.Get(new ObjectKey("team-b", "e")).Should().NotBeNull();
            var fill = server.Requests.Last(r => r.Path.Contains("/namespaces/team-b/", StringComparison.Ordinal));
            fill.IsWatch.Should().BeFalse();
            fill.Query.Should().Contain("limit=500");
            server.Requests.Count(r => r.Path == AllWidgets && !r.IsWatch).Should().Be(1, "a namespace joining costs a list of that namespace, not a relist");
        }
    }

    [Fact]
    public async Task A_fill_answered_after_the_watch_moved_on_does_not_bring_back_what_the_watch_deleted()
    {
        var scope = new NamespaceScope();
        scope.Include("team-a");
        var watchGo = new TaskCompletionSource();
        var fillGo = new TaskCompletionSource();
        var watches = 0;
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                await fillGo.Task;
                return List("34", In("team-b", "b", "11"), In("team-b", "e", "30"));
            }

            if (!request.IsWatch)
            {
                return List("20", In("team-a", "a", "10"));
            }

            if (Interlocked.Increment(ref watches) == 1)
            {
                await watchGo.Task;
                return FakeApiServer.Watch(Event("DELETED", In("team-b", "b", "35")), Event("ADDED", In("team-b", "g", "36")));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var informer = Scoped(server, scope);
        var seen = Record(informer);

        await using (Run(informer))
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            scope.Include("team-b");
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Any(r => r.Path.Contains("/namespaces/team-b/", StringComparison.Ordinal)));

            // The watch reports b's deletion and g's creation before the fill's (older) list arrives.
            watchGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => informer.Cache.Get(new ObjectKey("team-b", "g")) is not null);
            fillGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-b"));

            informer.Cache.List().Select(w => w.Metadata.Name).Should().BeEquivalentTo(["a", "e", "g"], "b was deleted after the list's snapshot");
            seen.Should().Equal("Added team-a/a@10", "Added team-b/g@36", "Added team-b/e@30");
        }
    }

    [Fact]
    public async Task A_namespace_that_joins_while_the_first_list_is_paging_is_listed_once_the_list_is_in()
    {
        var scope = new NamespaceScope();
        scope.Include("team-a");
        var secondPage = new TaskCompletionSource();
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                return List("30", In("team-b", "b", "11"));
            }

            if (request.IsWatch)
            {
                await endWatch.Task;
                return FakeApiServer.Watch();
            }

            if (!request.Query.Contains("continue=next", StringComparison.Ordinal))
            {
                return Page("20", "next", In("team-b", "b", "11"));
            }

            await secondPage.Task;
            return Page("20", null, In("team-a", "a", "10"));
        });
        var informer = Scoped(server, scope, pageSize: 1);
        var seen = Record(informer);

        await using (Run(informer))
        {
            // The first page (team-b/b) has been read and dropped when team-b joins.
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Count == 2);
            scope.Include("team-b");
            server.Requests.Should().HaveCount(2, "the fill waits for the list");
            secondPage.SetResult();

            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-b"));
            seen.Should().Equal("Added team-a/a@10", "Added team-b/b@11");
            informer.Cache.Count.Should().Be(2);
        }
    }

    [Fact]
    public async Task Scoped_informers_list_once_the_sources_synced_so_namespaces_known_at_start_cost_no_extra_list()
    {
        var scope = new NamespaceScope();
        var sourceList = new TaskCompletionSource();
        var sourceWatches = 0;
        var sourceServer = new FakeApiServer(async request =>
        {
            if (!request.IsWatch)
            {
                await sourceList.Task;
                return List("5", In("team-a", "cred-1", "3"), In("team-b", "cred-2", "4"));
            }

            if (Interlocked.Increment(ref sourceWatches) == 1)
            {
                // A credential in a third namespace, and one deleted: deletions never shrink a scope made without dropsNamespacesLeftEmpty.
                return FakeApiServer.Watch(Event("ADDED", In("team-c", "cred-3", "6")), Event("DELETED", In("team-a", "cred-1", "7")));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var source = new Informer<Widget>(sourceServer.CreateClient(), Widgets, new InformerOptions<Widget>(), time, NullLogger.Instance);
        using var tracking = scope.IncludeNamespacesOf(source);
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-c/widgets")
            {
                return List("9", In("team-c", "c", "8"));
            }

            if (!request.IsWatch)
            {
                return List("8", In("team-a", "a", "1"), In("team-b", "b", "2"), In("team-c", "c", "8"), In("team-d", "d", "2"));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var informer = Scoped(server, scope);

        await using (Run(informer))
        await using (Run(source))
        {
            await Task.Delay(200);
            server.Requests.Should().BeEmpty("the scope does not know its namespaces before the credentials are listed");

            sourceList.SetResult();
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-c") && informer.Cache.Count == 3);

            informer.Cache.List().Select(w => w.Metadata.NamespaceProperty).Should().BeEquivalentTo(["team-a", "team-b", "team-c"]);
            scope.IsComplete("team-a").Should().BeTrue("this scope keeps a namespace after its last credential is deleted");
            scope.Contains("team-d").Should().BeFalse();
            server.Requests.Count(r => !r.IsWatch && r.Path == AllWidgets).Should().Be(1);
            server.Requests.Should().NotContain(r => r.Path.Contains("/namespaces/team-a/", StringComparison.Ordinal) || r.Path.Contains("/namespaces/team-b/", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_relist_after_410_while_a_fill_is_in_flight_supersedes_the_fill()
    {
        var scope = new NamespaceScope();
        scope.Include("team-a");
        var fillGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watchGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lists = 0;
        var watches = 0;
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                // Answered at rv 30, before q was deleted (35) and p changed (38); it arrives after the relist is stored.
                await fillGo.Task;
                return List("30", In("team-b", "p", "29"), In("team-b", "q", "30"));
            }

            if (!request.IsWatch)
            {
                return Interlocked.Increment(ref lists) == 1
                    ? List("20", In("team-a", "a", "10"))
                    : List("40", In("team-a", "a", "10"), In("team-b", "p", "38"));
            }

            if (Interlocked.Increment(ref watches) == 1)
            {
                await watchGo.Task;
                return FakeApiServer.Watch(Gone);
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var informer = Scoped(server, scope);
        var seen = Record(informer);

        await using (Run(informer))
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            scope.Include("team-b");
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Any(r => r.Path.Contains("/namespaces/team-b/", StringComparison.Ordinal)));

            // The watch expires while the fill's list is in flight; the relist (team-b is in scope by now) is stored first.
            watchGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => informer.Cache.Get(new ObjectKey("team-b", "p"))?.Metadata.ResourceVersion == "38" && watches >= 2);
            scope.IsComplete("team-b").Should().BeFalse("the fill has not ended");
            fillGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-b"));

            informer.Cache.List().Select(w => $"{w.Metadata.Name}@{w.Metadata.ResourceVersion}").Should().BeEquivalentTo(
                ["a@10", "p@38"], "the watch resumes from the relist's rv 40 and would never report q's deletion or p@38 again");
            seen.Should().Equal("Added team-a/a@10", "Added team-b/p@38");
            server.Requests.Last(r => r.IsWatch).Query.Should().Contain("resourceVersion=40");
        }
    }

    [Fact]
    public async Task A_fill_that_ends_while_a_relist_is_paging_keeps_its_objects_until_the_relist_is_stored()
    {
        var scope = new NamespaceScope();
        scope.Include("team-a");
        var fillGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watchGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var relistPage2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lists = 0;
        var watches = 0;
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                await fillGo.Task;
                return List("42", In("team-b", "p", "41"), In("team-b", "q", "42"));
            }

            if (!request.IsWatch)
            {
                if (request.Query.Contains("continue=next", StringComparison.Ordinal))
                {
                    // Stopping releases it too, so a failed assertion is not hidden behind a stop that times out.
                    await Task.WhenAny(relistPage2.Task, endWatch.Task);
                    return Page("40", null, In("team-b", "p", "38"));
                }

                return Interlocked.Increment(ref lists) == 1 ? List("20", In("team-a", "a", "10")) : Page("40", "next", In("team-a", "a", "10"));
            }

            switch (Interlocked.Increment(ref watches))
            {
                case 1:
                    await watchGo.Task;
                    return FakeApiServer.Watch(Gone);
                case 2:
                    // From the relist's rv 40: what changed after its snapshot, which the fill had already seen.
                    return FakeApiServer.Watch(Event("MODIFIED", In("team-b", "p", "41")), Event("ADDED", In("team-b", "q", "42")));
                default:
                    await endWatch.Task;
                    return FakeApiServer.Watch();
            }
        });
        var informer = Scoped(server, scope);

        await using (Run(informer))
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            scope.Include("team-b");
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Any(r => r.Path.Contains("/namespaces/team-b/", StringComparison.Ordinal)));

            // The relist starts before the fill's list is answered and is stored after the fill ended.
            watchGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Any(r => r.Query.Contains("continue=next", StringComparison.Ordinal)));
            fillGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-b"));
            informer.Cache.List().Select(w => $"{w.Metadata.Name}@{w.Metadata.ResourceVersion}").Should().BeEquivalentTo(
                ["a@10", "p@41", "q@42"], "a complete namespace must not read as empty while the relist pages");

            relistPage2.SetResult();
            await FakeApiServer.WaitUntilAsync(() => watches >= 3);
            informer.Cache.List().Select(w => $"{w.Metadata.Name}@{w.Metadata.ResourceVersion}").Should().BeEquivalentTo(["a@10", "p@41", "q@42"]);
            server.Requests.Where(r => r.IsWatch).ElementAt(1).Query.Should().Contain("resourceVersion=40", "the relist replaced the fill's objects, and the watch goes on from the relist");
        }
    }

    [Fact]
    public async Task A_namespace_whose_last_credential_is_deleted_leaves_the_scope_and_comes_back_listed_afresh()
    {
        var (scope, credentials) = Shrinking();
        credentials.Apply(In("team-a", "cred-a", "1"));
        credentials.Apply(In("team-b", "cred-b", "2"));
        var watchGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watches = 0;
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                return List("40", In("team-b", "n", "39"));
            }

            if (!request.IsWatch)
            {
                return List("20", In("team-a", "a", "10"), In("team-b", "b", "11"), In("team-c", "x", "12"));
            }

            if (Interlocked.Increment(ref watches) == 1)
            {
                // While team-b is out of scope: b goes, and "gone" comes and goes. Nobody follows team-b then.
                await watchGo.Task;
                return FakeApiServer.Watch(
                    Event("DELETED", In("team-b", "b", "21")),
                    Event("ADDED", In("team-b", "gone", "22")),
                    Event("DELETED", In("team-b", "gone", "23")));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var informer = Scoped(server, scope);
        var seen = Record(informer);

        await using (Run(informer))
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            Names(informer).Should().BeEquivalentTo(["team-a/a@10", "team-b/b@11"]);

            credentials.Delete(In("team-b", "cred-b", "2"));

            scope.Contains("team-b").Should().BeFalse("no credential is left there");
            scope.IsComplete("team-b").Should().BeFalse("a namespace out of scope is not followed");
            Names(informer).Should().BeEquivalentTo(["team-a/a@10"], "what was held there is dropped");
            seen.Should().Equal("Added team-a/a@10", "Added team-b/b@11", "Deleted team-b/b@11");

            watchGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => watches >= 2);
            Names(informer).Should().BeEquivalentTo(["team-a/a@10"], "events of a namespace out of scope are passed over");

            // A credential created there again: the namespace is listed as if it had never been in scope.
            credentials.Apply(In("team-b", "cred-b", "30"));
            scope.IsComplete("team-b").Should().BeFalse("its objects are being listed");
            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-b"));
            Names(informer).Should().BeEquivalentTo(["team-a/a@10", "team-b/n@39"]);
            seen.Should().Equal("Added team-a/a@10", "Added team-b/b@11", "Deleted team-b/b@11", "Added team-b/n@39");
            server.Requests.Count(r => !r.IsWatch && r.Path == AllWidgets).Should().Be(1, "leaving and joining cost no relist");
        }
    }

    [Fact]
    public void A_namespace_stays_while_a_credential_of_either_source_or_a_lasting_inclusion_holds_it()
    {
        var (scope, credentials) = Shrinking();
        var pipelineCredentials = new FakeInformer<Widget>(Widgets);
        using var tracking = scope.IncludeNamespacesOf(pipelineCredentials);

        // Same name, two kinds: each holds the namespace on its own.
        credentials.Apply(In("team-b", "db", "1"));
        pipelineCredentials.Apply(In("team-b", "db", "2"));
        credentials.Apply(In("team-b", "db", "3"));
        credentials.Delete(In("team-b", "db", "3"));
        scope.Contains("team-b").Should().BeTrue("a PipelineCredential is still there");
        pipelineCredentials.Delete(In("team-b", "db", "2"));
        scope.Contains("team-b").Should().BeFalse();
        scope.HoldersOf("team-b").Should().Be(0, "a namespace that left is forgotten, not kept as an empty entry");

        scope.Include("catalog");
        credentials.Apply(In("catalog", "c", "4"));
        credentials.Delete(In("catalog", "c", "4"));
        scope.Contains("catalog").Should().BeTrue("a namespace included for good stays");
        scope.Count.Should().Be(1);
    }

    [Fact]
    public async Task A_fill_under_way_when_its_namespace_leaves_stores_nothing_and_does_not_end_the_fill_of_its_return()
    {
        var (scope, credentials) = Shrinking();
        credentials.Apply(In("team-a", "cred-a", "1"));
        var firstFillGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondFillGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fillRequests = 0;
        var server = new FakeApiServer(async request =>
        {
            if (request.Path == "/apis/test.passbox.dev/v1/namespaces/team-b/widgets")
            {
                if (Interlocked.Increment(ref fillRequests) == 1)
                {
                    // Asked before team-b left; "old" is deleted while nobody follows team-b.
                    await Task.WhenAny(firstFillGo.Task, endWatch.Task);
                    return List("30", In("team-b", "old", "29"));
                }

                await Task.WhenAny(secondFillGo.Task, endWatch.Task);
                return List("50", In("team-b", "n", "49"));
            }

            if (!request.IsWatch)
            {
                return List("20", In("team-a", "a", "10"));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var logs = new RecordingLoggers();
        var informer = new Informer<Widget>(server.CreateClient(), Widgets, new InformerOptions<Widget> { Scope = scope }, time, logs);
        var seen = Record(informer);

        await using (Run(informer))
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            credentials.Apply(In("team-b", "cred-b", "2"));
            await FakeApiServer.WaitUntilAsync(() => fillRequests == 1);
            credentials.Delete(In("team-b", "cred-b", "2"));
            credentials.Apply(In("team-b", "cred-b", "40"));
            await FakeApiServer.WaitUntilAsync(() => fillRequests == 2);

            firstFillGo.SetResult();
            // The first fill ends (it logs how) while the second still waits for its answer.
            await FakeApiServer.WaitUntilAsync(() => logs.Messages.Any(m => m.Contains("namespace team-b", StringComparison.OrdinalIgnoreCase)));
            scope.IsComplete("team-b").Should().BeFalse("the fill of the namespace's return is still under way");
            Names(informer).Should().BeEquivalentTo(["team-a/a@10"], "the first fill's answer is from before the namespace left");

            secondFillGo.SetResult();
            await FakeApiServer.WaitUntilAsync(() => scope.IsComplete("team-b"));
            Names(informer).Should().BeEquivalentTo(["team-a/a@10", "team-b/n@49"]);
            seen.Should().Equal("Added team-a/a@10", "Added team-b/n@49");
        }
    }

    [Fact]
    public async Task A_watch_event_let_in_just_before_its_namespace_left_is_not_stored_after_the_drop()
    {
        var (scope, credentials) = Shrinking();
        credentials.Apply(In("team-a", "cred-a", "1"));
        credentials.Apply(In("team-b", "cred-b", "2"));
        var watches = 0;
        var server = new FakeApiServer(async request =>
        {
            if (!request.IsWatch)
            {
                return List("20", In("team-a", "a", "10"), In("team-b", "b", "11"));
            }

            if (Interlocked.Increment(ref watches) == 1)
            {
                return FakeApiServer.Watch(Event("ADDED", In("team-b", "late", "21")), Event("ADDED", In("team-a", "after", "22")));
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });

        // The event of "late" is let in (its namespace in scope), then the last credential there goes while the event is
        // prepared, before it reaches the cache.
        var informer = Scoped(server, scope, widget =>
        {
            if (widget.Metadata.Name == "late")
            {
                credentials.Delete(In("team-b", "cred-b", "2"));
            }

            return widget;
        });
        var seen = Record(informer);

        await using (Run(informer))
        {
            await FakeApiServer.WaitUntilAsync(() => informer.Cache.Get(new ObjectKey("team-a", "after")) is not null);

            Names(informer).Should().BeEquivalentTo(["team-a/a@10", "team-a/after@22"], "team-b's objects were dropped, and none may come back unfollowed");
            seen.Should().Equal("Added team-a/a@10", "Added team-b/b@11", "Deleted team-b/b@11", "Added team-a/after@22");
        }
    }

    [Fact]
    public void A_fill_of_a_namespace_that_left_cannot_take_over_what_the_watch_notes_for_the_fill_of_its_return()
    {
        // A fill that failed once retries: it asks whether its namespace is still in scope, then starts noting the watch's
        // changes there. If the namespace leaves and joins again in between, the fill of its return has started noting
        // first. The stale fill must not put its own record in place of that one, which it then throws away when it
        // sees it is over: the fill of the return would store its (older) list over what the watch brought meanwhile
        // (a Deployment that just started naming the Secret, back to the version that did not), a user the index misses.
        var changes = new WatchChangesDuringFills<Widget>();
        var stay = new NamespaceScope.Inclusion("team-b", 1) { Ended = true };
        var afterReturn = new NamespaceScope.Inclusion("team-b", 1);
        var noted = changes.Begin(afterReturn)!;

        var stale = changes.Begin(stay);
        changes.End("team-b", stale);
        changes.Note(In("team-b", "deploy", "31"));

        noted.Should().Contain(new ObjectKey("team-b", "deploy"), "the fill of the return still learns what the watch changed");
        stale.Should().BeNull("the namespace left the scope since this fill's stay in it began: it lists nothing more");
    }

    [Fact]
    public async Task A_namespace_that_leaves_while_the_first_list_is_paging_is_not_stored_by_it()
    {
        var (scope, credentials) = Shrinking();
        credentials.Apply(In("team-a", "cred-a", "1"));
        credentials.Apply(In("team-b", "cred-b", "2"));
        var secondPage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new FakeApiServer(async request =>
        {
            if (request.IsWatch)
            {
                await endWatch.Task;
                return FakeApiServer.Watch();
            }

            if (!request.Query.Contains("continue=next", StringComparison.Ordinal))
            {
                return Page("20", "next", In("team-b", "b", "11"));
            }

            await secondPage.Task;
            return Page("20", null, In("team-a", "a", "10"));
        });
        var informer = Scoped(server, scope, pageSize: 1);
        var seen = Record(informer);

        await using (Run(informer))
        {
            // The first page (team-b/b) was read while team-b was in scope.
            await FakeApiServer.WaitUntilAsync(() => server.Requests.Count == 2);
            credentials.Delete(In("team-b", "cred-b", "2"));
            secondPage.SetResult();

            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
            Names(informer).Should().BeEquivalentTo(["team-a/a@10"]);
            seen.Should().Equal("Added team-a/a@10");
        }
    }

    [Fact]
    public void A_namespace_no_scoped_informer_has_listed_yet_is_complete_at_once()
    {
        var scope = new NamespaceScope();

        scope.Include("team-a");

        scope.IsComplete("team-a").Should().BeTrue("an informer that has not listed yet will list it with everything else");
        scope.Count.Should().Be(1);
        scope.FillProblem("team-a").Should().BeNull();
        scope.IsComplete("other").Should().BeFalse();
    }

    /// <summary>A scope that drops namespaces left empty, with a credential informer the test feeds.</summary>
    private static (NamespaceScope Scope, FakeInformer<Widget> Credentials) Shrinking()
    {
        var scope = new NamespaceScope(dropsNamespacesLeftEmpty: true);
        var credentials = new FakeInformer<Widget>(Widgets);
        scope.IncludeNamespacesOf(credentials);
        return (scope, credentials);
    }

    private static IEnumerable<string> Names(Informer<Widget> informer) =>
        informer.Cache.List().Select(w => $"{w.Metadata.NamespaceProperty}/{w.Metadata.Name}@{w.Metadata.ResourceVersion}");

    private Informer<Widget> Scoped(FakeApiServer server, NamespaceScope scope, Func<Widget, Widget>? transform = null, int pageSize = 500) =>
        new(server.CreateClient(), Widgets, new InformerOptions<Widget> { Scope = scope, Transform = transform, PageSize = pageSize }, time, NullLogger.Instance);

    private static ConcurrentQueue<string> Record(Informer<Widget> informer)
    {
        var seen = new ConcurrentQueue<string>();
        informer.Subscribe(change => seen.Enqueue($"{change.Type} {change.Current.Metadata.NamespaceProperty}/{change.Current.Metadata.Name}@{change.Current.Metadata.ResourceVersion}"));
        return seen;
    }

    private Running Run(Informer<Widget> informer)
    {
        var stop = new CancellationTokenSource();
        return new Running(informer.RunAsync(stop.Token), stop, endWatch);
    }

    private static Widget In(string @namespace, string name, string resourceVersion)
    {
        var widget = Widget.Create(name, resourceVersion);
        widget.Metadata.NamespaceProperty = @namespace;
        return widget;
    }

    private static HttpResponseMessage Page(string resourceVersion, string? continueToken, params Widget[] items)
    {
        var list = new { apiVersion = "test.passbox.dev/v1", kind = "WidgetList", metadata = new { resourceVersion, @continue = continueToken }, items };
        return FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(list));
    }

    private static HttpResponseMessage List(string resourceVersion, params Widget[] items) => Page(resourceVersion, null, items);

    private static string Event(string type, Widget widget) => $$"""{"type":"{{type}}","object":{{KubernetesJson.Serialize(widget)}}}""";

    /// <summary>A running informer; disposing stops it and waits for its end.</summary>
    private sealed class Running(Task run, CancellationTokenSource stop, TaskCompletionSource endWatch) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            endWatch.TrySetResult();
            await run.WaitAsync(TimeSpan.FromSeconds(5));
            stop.Dispose();
        }
    }
}
