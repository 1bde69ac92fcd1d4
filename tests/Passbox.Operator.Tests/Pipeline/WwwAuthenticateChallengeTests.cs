using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class WwwAuthenticateChallengeTests
{
    [Fact]
    public void Basic_challenge_with_realm()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Basic realm=\"Registry Realm\"").Should().ContainSingle().Subject;

        challenge.IsScheme("basic").Should().BeTrue();
        challenge["realm"].Should().Be("Registry Realm");
    }

    [Fact]
    public void Bearer_challenge_keeps_commas_inside_quoted_scope()
    {
        var challenge = WwwAuthenticateChallenge.Parse(
            "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:team/app:pull,push\"")
            .Should().ContainSingle().Subject;

        challenge.Scheme.Should().Be("Bearer");
        challenge["realm"].Should().Be("https://auth.example.com/token");
        challenge["service"].Should().Be("registry.example.com");
        challenge["scope"].Should().Be("repository:team/app:pull,push");
    }

    [Fact]
    public void Several_challenges_in_one_header_are_split()
    {
        var challenges = WwwAuthenticateChallenge.Parse("Basic realm=\"a\", Bearer realm=\"https://t/\", service=reg , Negotiate");

        challenges.Select(c => c.Scheme).Should().Equal("Basic", "Bearer", "Negotiate");
        challenges[1]["service"].Should().Be("reg");
        challenges[2].Parameters.Should().BeEmpty();
    }

    [Fact]
    public void Token68_is_read_with_its_padding()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Negotiate YWJjZA==").Should().ContainSingle().Subject;

        challenge.Token68.Should().Be("YWJjZA==");
        challenge.Parameters.Should().BeEmpty();
    }

    [Fact]
    public void Escapes_in_quoted_strings_are_unfolded_and_names_are_case_insensitive()
    {
        var challenge = WwwAuthenticateChallenge.Parse("basic REALM = \"say \\\"hi\\\"\"").Should().ContainSingle().Subject;

        challenge["realm"].Should().Be("say \"hi\"");
    }

    [Fact]
    public void Values_from_several_headers_are_joined()
    {
        WwwAuthenticateChallenge.ParseAll(["Basic realm=x", "Bearer realm=\"https://t\""])
            .Select(c => c.Scheme).Should().Equal("Basic", "Bearer");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(",,")]
    public void Empty_headers_give_no_challenge(string? header)
    {
        WwwAuthenticateChallenge.Parse(header).Should().BeEmpty();
    }
}
