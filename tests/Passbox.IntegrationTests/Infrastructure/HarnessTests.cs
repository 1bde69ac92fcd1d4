using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using MySqlConnector;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// The test harness itself: the local API server behaves like a cluster for what Passbox relies on, and the private
/// MariaDB accepts OceanBase-style logins. Everything else builds on these.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class HarnessTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private TestNamespace ns = null!;

    public async Task InitializeAsync() => ns = await controlPlane.CreateNamespaceAsync("harness");

    public async Task DisposeAsync() => await ns.DisposeAsync();

    private static V1Secret Secret(string name, string value) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Data = new Dictionary<string, byte[]> { ["k"] = Encoding.UTF8.GetBytes(value) },
    };

    [Fact]
    public async Task A_wait_that_times_out_on_a_Secret_does_not_print_its_values()
    {
        const string password = "harness-wait-password";
        var secret = Secret("waited", password);

        var timedOut = await FluentActions.Awaiting(() => Passbox.IntegrationTests.Operator.ClusterTestKit.EventuallyAsync(
                () => Task.FromResult(secret), _ => false, "a Secret that never changes", TimeSpan.Zero))
            .Should().ThrowAsync<TimeoutException>();

        timedOut.Which.Message.Should().Contain("waited", "the Secret is still named")
            .And.NotContain(password).And.NotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(password)));
    }

    [Fact]
    public async Task A_Secret_can_be_created_read_updated_and_watched()
    {
        var api = controlPlane.Admin.CoreV1;
        var created = await api.CreateNamespacedSecretAsync(Secret("s1", "one"), ns.Name);

        var read = await api.ReadNamespacedSecretAsync("s1", ns.Name);
        Encoding.UTF8.GetString(read.Data["k"]).Should().Be("one");

        using var watch = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var modified = new TaskCompletionSource<V1Secret>();
#pragma warning disable CS0618 // WatchAsync is the only typed watch in KubernetesClient 21.
        var events = api.ListNamespacedSecretWithHttpMessagesAsync(ns.Name, watch: true, resourceVersion: created.Metadata.ResourceVersion, cancellationToken: watch.Token)
            .WatchAsync<V1Secret, V1SecretList>(cancellationToken: watch.Token);
#pragma warning restore CS0618
        var reader = Task.Run(async () =>
        {
            await foreach (var (type, item) in events)
            {
                if (type == WatchEventType.Modified)
                {
                    modified.TrySetResult(item);
                    return;
                }
            }
        }, watch.Token);

        read.Data["k"] = Encoding.UTF8.GetBytes("two");
        await api.ReplaceNamespacedSecretAsync(read, "s1", ns.Name);

        var seen = await modified.Task.WaitAsync(watch.Token);
        Encoding.UTF8.GetString(seen.Data["k"]).Should().Be("two");
        await watch.CancelAsync();
        await reader.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Fact]
    public async Task A_watch_resumes_from_a_resourceVersion_and_sees_only_later_changes()
    {
        var api = controlPlane.Admin.CoreV1;
        await api.CreateNamespacedSecretAsync(Secret("before", "x"), ns.Name);
        var list = await api.ListNamespacedSecretAsync(ns.Name);
        await api.CreateNamespacedSecretAsync(Secret("after", "y"), ns.Name);

        using var watch = new CancellationTokenSource(TimeSpan.FromSeconds(20));
#pragma warning disable CS0618
        var events = api.ListNamespacedSecretWithHttpMessagesAsync(ns.Name, watch: true, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: watch.Token)
            .WatchAsync<V1Secret, V1SecretList>(cancellationToken: watch.Token);
#pragma warning restore CS0618
        await foreach (var (type, item) in events)
        {
            type.Should().Be(WatchEventType.Added);
            item.Metadata.Name.Should().Be("after", "the watch starts after the list it resumes from");
            break;
        }
    }

    [Fact]
    public async Task An_update_with_a_stale_resourceVersion_gets_409()
    {
        var api = controlPlane.Admin.CoreV1;
        var stale = await api.CreateNamespacedSecretAsync(Secret("s409", "one"), ns.Name);
        var fresh = await api.ReadNamespacedSecretAsync("s409", ns.Name);
        fresh.Data["k"] = "two"u8.ToArray();
        await api.ReplaceNamespacedSecretAsync(fresh, "s409", ns.Name);

        stale.Data["k"] = "three"u8.ToArray();
        var update = () => api.ReplaceNamespacedSecretAsync(stale, "s409", ns.Name);

        (await update.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [SkippableFact]
    public async Task A_bad_token_gets_401()
    {
        Skip.IfNot(controlPlane.IsLocal, "an existing cluster's authentication is not ours to probe");

        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(controlPlane.AdminKubeconfig);
        config.AccessToken = "not-a-token-of-this-cluster";
        using var client = new Kubernetes(config);

        var list = () => client.CoreV1.ListNamespaceAsync();

        (await list.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_CEL_rule_rejects_an_invalid_object_with_the_rule_message()
    {
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>("""
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: gadgets.harness.passbox.dev}
            spec:
              group: harness.passbox.dev
              names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
              scope: Namespaced
              versions:
              - name: v1
                served: true
                storage: true
                schema:
                  openAPIV3Schema:
                    type: object
                    properties:
                      spec:
                        type: object
                        x-kubernetes-validations:
                        - rule: self.min <= self.max
                          message: min must not exceed max
                        properties:
                          min: {type: integer}
                          max: {type: integer}
            """);
        await controlPlane.ApplyCrdAsync(crd);
        try
        {
            var body = new Dictionary<string, object>
            {
                ["apiVersion"] = "harness.passbox.dev/v1",
                ["kind"] = "Gadget",
                ["metadata"] = new Dictionary<string, object> { ["name"] = "g1" },
                ["spec"] = new Dictionary<string, object> { ["min"] = 5, ["max"] = 1 },
            };
            var create = () => controlPlane.Admin.CustomObjects.CreateNamespacedCustomObjectAsync(body, "harness.passbox.dev", "v1", ns.Name, "gadgets");

            var error = (await create.Should().ThrowAsync<HttpOperationException>()).Which;
            error.Response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
            error.Response.Content.Should().Contain("min must not exceed max");
        }
        finally
        {
            await controlPlane.Admin.ApiextensionsV1.DeleteCustomResourceDefinitionAsync("gadgets.harness.passbox.dev");
        }
    }
}

[Collection(MariaDbCollectionDefinition.Name)]
public sealed class MariaDbHarnessTests(MariaDbFixture mariaDb)
{
    private MySqlConnectionStringBuilder Login(string user, string password) => new()
    {
        Server = mariaDb.Host,
        Port = (uint)mariaDb.Port,
        UserID = user,
        Password = password,
        SslMode = MySqlSslMode.None,
        Pooling = false,
    };

    [Fact]
    public async Task The_OceanBase_style_login_works_and_a_wrong_password_gets_1045()
    {
        var account = mariaDb.OceanBaseProxyUser;
        account.LoginName.Should().Be("app@orders#obcluster");

        await using (var good = new MySqlConnection(Login(account.LoginName, account.Password).ConnectionString))
        {
            await good.OpenAsync();
            await using var command = new MySqlCommand("SELECT CURRENT_USER()", good);
            ((string)(await command.ExecuteScalarAsync())!).Should().StartWith("app@orders#obcluster@");
        }

        await using var bad = new MySqlConnection(Login(account.LoginName, "wrong-password").ConnectionString);
        var open = () => bad.OpenAsync();
        (await open.Should().ThrowAsync<MySqlException>()).Which.ErrorCode.Should().Be(MySqlErrorCode.AccessDenied);
    }
}
