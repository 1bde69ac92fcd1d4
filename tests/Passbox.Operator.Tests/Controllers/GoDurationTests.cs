using System.Globalization;
using System.Text.RegularExpressions;
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

    [Theory]
    [InlineData("1ms")]
    [InlineData("1m1s")]
    [InlineData("1m1ms")]
    [InlineData("2h45m10s250ms")]
    [InlineData("0.5s")]
    [InlineData("007m")]
    [InlineData("1.5.5s")]
    [InlineData("1.s")]
    [InlineData(".5s")]
    [InlineData("5mss")]
    [InlineData("5")]
    [InlineData(" 5s")]
    [InlineData("5s ")]
    [InlineData("5S")]
    [InlineData("5d")]
    [InlineData("-5s")]
    [InlineData("+5s")]
    [InlineData("٥s")]
    [InlineData("1h0")]
    [InlineData("0s")]
    [InlineData("00")]
    public void Reads_every_text_as_the_schema_pattern_does(string text)
    {
        // The pattern, part by part and covering the whole text, as the schema and earlier versions read it.
        var matches = Regex.Matches(text, @"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", RegexOptions.CultureInvariant);
        var fallback = TimeSpan.FromMinutes(7);
        var expected = fallback;
        if (matches.Count > 0 && matches.Sum(m => m.Length) == text.Length)
        {
            var seconds = matches.Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
                * m.Groups[2].Value switch { "ms" => 0.001, "s" => 1, "m" => 60, _ => 3600 });
            expected = TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));
        }

        GoDuration.Parse(text, fallback).Should().Be(expected);
    }

    [Fact]
    public void Reading_a_duration_allocates_nothing()
    {
        // Read some ten times per reconcile of every credential (the interval and timeout of each effective spec): with
        // a regular expression each read cost about half a kilobyte of match objects.
        GoDuration.Parse("1h30m10s", TimeSpan.Zero);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            GoDuration.Parse("1h30m10s", TimeSpan.Zero);
            GoDuration.Parse("500ms", TimeSpan.Zero);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0);
    }
}
