using System.Net;
using System.Text;
using k8s.Autorest;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// What a credential says for each way the API server refuses its Secret, from the server's own words (as Kubernetes,
/// Kyverno and Gatekeeper phrase them): who refused, what to do, and whether to try again by itself.
/// </summary>
public sealed class SecretRefusalReportTests
{
    private const string Every = "tried again within 1 min, then less often (at most every 16 min); an edit of the credential or of its source Secrets is tried at once";

    public static TheoryData<HttpStatusCode, string, string, string, bool> Refusals() => new()
    {
        {
            HttpStatusCode.RequestEntityTooLarge, "Request entity too large: limit is 3145728",
            ConditionReasons.SecretTooLarge, "The Secret's data would be 2.0 MiB (2097152 bytes), and the API server takes at most 1 MiB", false
        },
        {
            HttpStatusCode.UnprocessableEntity, "Secret \"billing\" is invalid: data: Too long: may not be more than 1048576 bytes",
            ConditionReasons.SecretTooLarge, "make the source values smaller", false
        },
        {
            HttpStatusCode.InternalServerError, "etcdserver: request is too large",
            ConditionReasons.SecretTooLarge, "The Secret's data would be 2.0 MiB", false
        },
        {
            HttpStatusCode.InternalServerError,
            "Internal error occurred: failed calling webhook \"secrets.policy.example.com\": failed to call webhook: Post \"https://policy.policy.svc:443/validate?timeout=10s\": dial tcp 10.96.0.12:443: connect: connection refused",
            ConditionReasons.AdmissionWebhookFailed, "check that webhook's Service and Pods", true
        },
        {
            HttpStatusCode.UnprocessableEntity,
            "secrets \"billing\" is forbidden: ValidatingAdmissionPolicy 'no-billing' with binding 'no-billing' denied request: billing Secrets are refused",
            ConditionReasons.SecretRejected, "An admission policy or webhook", true
        },
        {
            HttpStatusCode.Forbidden,
            "admission webhook \"validation.gatekeeper.sh\" denied the request: [secrets-need-owner] you must provide labels: {\"owner\"}",
            ConditionReasons.SecretRejected, "An admission policy or webhook", true
        },
        {
            HttpStatusCode.BadRequest,
            "admission webhook \"validate.kyverno.svc-fail\" denied the request: policy Secret/team/billing for resource violation: require-owner: must have an owner label",
            ConditionReasons.SecretRejected, "An admission policy or webhook", true
        },
        {
            HttpStatusCode.Forbidden,
            "secrets \"billing\" is forbidden: exceeded quota: team-quota, requested: count/secrets=1, used: count/secrets=3, limited: count/secrets=3",
            ConditionReasons.SecretRejected, "A ResourceQuota in namespace team allows no more Secrets", true
        },
        {
            HttpStatusCode.Forbidden,
            "secrets is forbidden: User \"system:serviceaccount:passbox-system:passbox\" cannot create resource \"secrets\" in API group \"\" in the namespace \"team\"",
            ConditionReasons.SecretRejected, "grant the operator's ServiceAccount get, create, patch and delete on secrets there", true
        },
        {
            HttpStatusCode.UnprocessableEntity,
            "Secret \"billing\" is invalid: metadata.labels: Invalid value: \"a\": must be no more than 63 characters",
            ConditionReasons.SecretRejected, "Fix spec.secret.labels or spec.secret.annotations", false
        },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Each_refusal_names_who_refused_and_what_to_do(HttpStatusCode code, string serverMessage, string reason, string hint, bool retried)
    {
        var payload = new SecretPayload("billing", "Opaque", new Dictionary<string, byte[]> { ["kubeconfig"] = new byte[2 * 1024 * 1024] },
            new Dictionary<string, string>(), new Dictionary<string, string>());

        var report = SecretRefusalReport.Describe(SecretWriteRefusal.From(Refused(code, serverMessage), payload, []), "team", "billing");

        report.Reason.Should().Be(reason);
        report.Message.Should().StartWith($"the API server refused Secret billing: {serverMessage}. ").And.Contain(hint);
        if (retried)
        {
            report.FixedElsewhere.Should().BeTrue("the cause is outside the credential: tried again by itself, with backoff");
            report.Message.Should().Contain(Every);
        }
        else
        {
            report.FixedElsewhere.Should().BeFalse("only an edit of the spec or of a source Secret fixes it, and both bring the credential back");
            report.Message.Should().NotContain(Every);
        }
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, "Internal error occurred: failed calling webhook \"w.example.com\": context deadline exceeded", true)]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, "Request entity too large: limit is 3145728", true)]
    [InlineData(HttpStatusCode.InternalServerError, "etcdserver: request is too large", true)]
    [InlineData(HttpStatusCode.InternalServerError, "etcdserver: leader changed", false)]
    [InlineData(HttpStatusCode.TooManyRequests, "too many requests", false)]
    public void A_failing_webhook_and_a_too_large_request_are_refusals_and_other_server_errors_are_not(HttpStatusCode code, string serverMessage, bool refusal) =>
        SecretWriteRefusal.IsRefusal(Refused(code, serverMessage)).Should().Be(refusal);

    [Fact]
    public void A_policy_message_that_quotes_a_source_value_is_shown_without_it()
    {
        const string Source = "s3cret-from-the-source";
        var quoted = $"secrets \"billing\" is forbidden: ValidatingAdmissionPolicy 'weak' with binding 'weak' denied request: password {Source} " +
            $"({Convert.ToBase64String(Encoding.UTF8.GetBytes(Source))}) is too weak";
        var payload = new SecretPayload("billing", "Opaque", new Dictionary<string, byte[]> { ["uri"] = Encoding.UTF8.GetBytes($"mysql://app:{Source}@db:3306") },
            new Dictionary<string, string>(), new Dictionary<string, string>());

        var report = SecretRefusalReport.Describe(
            SecretWriteRefusal.From(Refused(HttpStatusCode.UnprocessableEntity, quoted), payload, [Source]), "team", "billing");

        report.Message.Should().Contain("denied request: password *** (***) is too weak").And.NotContain(Source)
            .And.NotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(Source)));
        report.Reason.Should().Be(ConditionReasons.SecretRejected);
    }

    /// <summary>
    /// The API server's field errors print an invalid value as Go's %q does: a multi-line kubeconfig, or a password with a
    /// quote or a backslash, is escaped there and was not found in clear.
    /// </summary>
    [Fact]
    public void A_value_the_server_quotes_with_escapes_is_cut_too()
    {
        const string Kubeconfig = "apiVersion: v1\nusers:\n- name: ci\n  user:\n    token: \"tok\\en\"\t\u0001\n";
        const string Password = "pa\"ss\\word";
        // Written out as a Go server writes them (strconv.Quote), not by the code under test.
        const string Quoted = """
            Secret "billing" is invalid: metadata.annotations: Invalid value: "apiVersion: v1\nusers:\n- name: ci\n  user:\n    token: \"tok\\en\"\t\x01\n": too long; metadata.labels: Invalid value: "pa\"ss\\word": invalid
            """;
        var payload = new SecretPayload("billing", "Opaque", new Dictionary<string, byte[]> { ["kubeconfig"] = Encoding.UTF8.GetBytes(Kubeconfig) },
            new Dictionary<string, string>(), new Dictionary<string, string>());

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.UnprocessableEntity, Quoted), payload, [Password]);

        refusal.Message.Should().Be("""Secret "billing" is invalid: metadata.annotations: Invalid value: "***": too long; metadata.labels: Invalid value: "***": invalid""");
    }

    /// <summary>
    /// A source value shorter than <see cref="SecretWriteRefusal.ShortestRedacted"/> is not cut (it would take ordinary
    /// words with it, and the gaps would spell it out); in the words, it was shown. The words are left out instead.
    /// </summary>
    [Fact]
    public void A_policy_message_that_quotes_a_source_value_too_short_to_cut_is_left_out()
    {
        const string Short = "Q7z";
        var message = $"secrets \"billing\" is forbidden: ValidatingAdmissionPolicy 'weak' with binding 'weak' denied request: password {Short} is too short";
        var payload = Payload(("password", Short), ("port", "80"));

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.UnprocessableEntity, message), payload, [Short]);

        Occurrences(refusal.Message, Short).Should().Be(0, "a short password is still a password");
        refusal.Message.Should().StartWith("HTTP 422 (the API server's message is left out");
        refusal.Cause.Should().Be(SecretWriteRefusalCause.AdmissionPolicy, "who refused is read from the words before they are left out");
    }

    /// <summary>
    /// A policy that prints <c>object.data.password</c> prints the value as the Secret holds it: in Base64. For a value too
    /// short to cut, that form was neither cut nor looked for, and Base64 is no disguise.
    /// </summary>
    [Fact]
    public void A_policy_message_that_prints_a_short_source_value_in_base64_is_left_out()
    {
        const string Short = "Q7z";
        var printed = Convert.ToBase64String(Encoding.UTF8.GetBytes(Short));
        var message = $"secrets \"billing\" is forbidden: ValidatingAdmissionPolicy 'weak' with binding 'weak' denied request: data.password {printed} is too short";

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.UnprocessableEntity, message), Payload(("password", Short), ("port", "80")), [Short]);

        Occurrences(refusal.Message, printed).Should().Be(0, "Base64 of a short password is the password");
        refusal.Message.Should().StartWith("HTTP 422 (the API server's message is left out");
    }

    [Fact]
    public void A_short_value_that_is_no_source_value_leaves_the_words_as_they_are()
    {
        const string Message = "admission webhook \"ports.example.com\" denied the request: port 80 is not allowed";

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.BadRequest, Message), Payload(("port", "80")), ["S3cret-long-enough"]);

        refusal.Message.Should().Be(Message, "a port from the spec is no secret, and cutting 80 would mangle the words");
    }

    /// <summary>
    /// A password read from a file keeps the file's last line break (<c>kubectl create secret --from-file</c>); a policy
    /// printing it on one line, or a ValidatingAdmissionPolicy trimming its message, shows it without.
    /// </summary>
    [Fact]
    public void A_source_value_quoted_without_the_white_space_around_it_is_cut_too()
    {
        const string Password = "hunter2-from-a-file";
        var message = $"secrets \"billing\" is forbidden: ValidatingAdmissionPolicy 'weak' with binding 'weak' denied request: password {Password}";

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.UnprocessableEntity, message), Payload(("password", Password + "\n")), [Password + "\n"]);

        Occurrences(refusal.Message, Password).Should().Be(0, "the password without its line break is the password");
        refusal.Message.Should().EndWith("denied request: password ***");
    }

    /// <summary>
    /// Gatekeeper and Kyverno parse JSON: a policy on docker configs may print an entry of <c>auths</c>, whose <c>auth</c>
    /// is Base64 of <c>user:password</c>, a form of the password that is neither the value written nor a source value.
    /// </summary>
    [Fact]
    public void A_policy_message_that_prints_part_of_a_docker_config_is_shown_without_its_auth()
    {
        const string Password = "S3cret-registry-pw";
        var config = PipelineSecretBuilder.DockerConfigJson(["registry.example.com"], "ci-bot", Password);
        var auth = System.Text.Json.Nodes.JsonNode.Parse(config)!["auths"]!["registry.example.com"]!["auth"]!.GetValue<string>();
        var message = "admission webhook \"validation.gatekeeper.sh\" denied the request: [allowed-registries] registry.example.com is not allowed " +
            $"(entry {{\"auth\": \"{auth}\", \"username\": \"ci-bot\"}})";

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.Forbidden, message), Payload((".dockerconfigjson", config)), [Password]);

        Occurrences(refusal.Message, auth).Should().Be(0, "Base64 of user:password is the password");
        refusal.Message.Should().Contain("[allowed-registries] registry.example.com is not allowed");
    }

    [Fact]
    public void A_policy_message_that_prints_the_token_of_a_kubeconfig_is_shown_without_it()
    {
        const string Token = "eyJhbGciOiJSUzI1NiJ9.deploy-token-payload.signature";
        var kubeconfig = $$$"""
            apiVersion: v1
            kind: Config
            current-context: prod
            contexts: [{name: prod, context: {cluster: prod, user: deployer}}]
            clusters: [{name: prod, cluster: {server: "https://prod.example.com:6443", proxy-url: "http://proxy:Pr0xy-pw@proxy.example.com:3128"}}]
            users: [{name: deployer, user: {token: {{{Token}}}}}]
            """;
        var message = $"admission webhook \"kubeconfigs.example.com\" denied the request: user deployer uses token {Token} through proxy password Pr0xy-pw";

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.BadRequest, message), Payload(("kubeconfig", kubeconfig)), [kubeconfig]);

        (Occurrences(refusal.Message, Token) + Occurrences(refusal.Message, "Pr0xy-pw")).Should().Be(0, "a kubeconfig's credentials are secrets on their own");
        refusal.Message.Should().Be("admission webhook \"kubeconfigs.example.com\" denied the request: user deployer uses token *** through proxy password ***");
    }

    /// <summary>In a URL (the uri key, a line of .git-credentials) the password is escaped: neither it nor the source value.</summary>
    [Fact]
    public void A_policy_message_that_prints_the_user_info_of_a_url_is_shown_without_the_escaped_password()
    {
        const string Password = "p@ss/w0rd!long";
        const string Escaped = "p%40ss%2Fw0rd!long";
        var message = $"admission webhook \"uris.example.com\" denied the request: uri user info app:{Escaped} is not allowed";

        var refusal = SecretWriteRefusal.From(Refused(HttpStatusCode.BadRequest, message), Payload(("uri", $"mysql://app:{Escaped}@db:3306")), [Password]);

        Occurrences(refusal.Message, Escaped).Should().Be(0, "the escaped password is the password");
        refusal.Message.Should().Be("admission webhook \"uris.example.com\" denied the request: uri user info *** is not allowed");
    }

    private static SecretPayload Payload(params (string Key, string Value)[] data) => new(
        "billing", "Opaque", data.ToDictionary(pair => pair.Key, pair => Encoding.UTF8.GetBytes(pair.Value)),
        new Dictionary<string, string>(), new Dictionary<string, string>());

    /// <summary>Counted, not printed: a failed assertion must not show a secret in the test output.</summary>
    private static int Occurrences(string text, string part) => text.Split(part, StringSplitOptions.None).Length - 1;

    private static HttpOperationException Refused(HttpStatusCode code, string message)
    {
        var status = System.Text.Json.JsonSerializer.Serialize(new { kind = "Status", apiVersion = "v1", status = "Failure", message, code = (int)code });
        return new HttpOperationException($"Operation returned an invalid status code '{code}'")
        {
            Response = new HttpResponseMessageWrapper(new HttpResponseMessage(code), status),
        };
    }
}
