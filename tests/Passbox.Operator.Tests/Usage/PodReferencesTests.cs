using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class PodReferencesTests
{
    [Theory]
    [InlineData("Pending")]
    [InlineData("Running")]
    [InlineData("Unknown")]
    public void A_pod_that_has_not_finished_uses_its_secrets(string phase)
    {
        var references = PodReferences.From(Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"), phase));

        references.Kind.Should().Be("Pod");
        references.Namespace.Should().Be(Ns);
        references.Name.Should().Be("api-7d9f");
        references.SecretNames.Should().Equal("orders-ob-conn");
    }

    [Theory]
    [InlineData("Succeeded")]
    [InlineData("Failed")]
    public void A_finished_pod_uses_nothing(string phase)
    {
        PodReferences.From(Pod("report-28391-abcde", SpecUsingEnv("orders-ob-conn"), phase)).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_pod_being_deleted_still_counts_until_it_is_gone()
    {
        var pod = Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"));
        pod.Metadata.DeletionTimestamp = new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc);
        pod.Metadata.DeletionGracePeriodSeconds = 30;

        PodReferences.From(pod).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_pod_without_status_yet_counts()
    {
        var pod = Pod("api-7d9f", SpecUsingEnv("orders-ob-conn"));
        pod.Status = null;

        PodReferences.From(pod).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_pod_that_refers_to_no_secret_is_empty()
    {
        PodReferences.From(Pod("web-1", Spec())).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void A_pod_without_a_name_is_rejected()
    {
        var pod = Pod("x", Spec());
        pod.Metadata.Name = null;

        var act = () => PodReferences.From(pod);

        act.Should().Throw<ArgumentException>();
    }
}
