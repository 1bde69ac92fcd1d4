using Passbox.Operator.Runtime;

namespace Passbox.Operator.Tests.Runtime;

public sealed class LogDurationTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(-1000, "0s")]
    [InlineData(0.5, "0.001s")]
    [InlineData(5, "0.005s")]
    [InlineData(467.8567, "0.47s")]
    [InlineData(1000, "1s")]
    [InlineData(12_500, "12.5s")]
    [InlineData(59_990, "59.99s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(125_000, "2m5s")]
    [InlineData(300_000, "5m0s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(5_400_400, "1h30m0s")]
    public void Delays_read_as_seconds_minutes_and_hours_not_as_a_TimeSpan(double milliseconds, string shown) =>
        LogDuration.Format(TimeSpan.FromMilliseconds(milliseconds)).Should().Be(shown);
}
