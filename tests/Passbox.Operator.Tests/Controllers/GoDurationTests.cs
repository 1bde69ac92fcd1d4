using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Controllers;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("1h30m", 5400)]
    [InlineData("1.5h", 5400)]
    [InlineData("500ms", 0.5)]
    public void Parses_go_durations(string text, double seconds)
    {
        GoDuration.Parse(text, TimeSpan.FromDays(1)).TotalSeconds.Should().Be(seconds);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ten minutes")]
    [InlineData("10x")]
    [InlineData("10m garbage")]
    public void Falls_back_on_missing_or_invalid_text(string? text)
    {
        GoDuration.Parse(text, TimeSpan.FromMinutes(7)).Should().Be(TimeSpan.FromMinutes(7));
    }

    [Theory]
    [InlineData("87601h")]
    [InlineData("300000000h")]
    [InlineData("99999999999999999999h")]
    public void Reads_durations_beyond_ten_years_as_ten_years_instead_of_overflowing(string text)
    {
        GoDuration.Parse(text, TimeSpan.FromMinutes(7)).Should().Be(GoDuration.Longest);
    }

    [Theory]
    [InlineData(3600, "1h")]
    [InlineData(600, "10m")]
    [InlineData(5430, "1h30m30s")]
    [InlineData(0, "0s")]
    public void Formats_a_duration_the_way_the_spec_writes_it(double seconds, string text)
    {
        GoDuration.Format(TimeSpan.FromSeconds(seconds)).Should().Be(text);
        GoDuration.Parse(text, TimeSpan.FromDays(1)).TotalSeconds.Should().Be(seconds);
    }
}
