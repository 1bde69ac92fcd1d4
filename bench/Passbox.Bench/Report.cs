using System.Globalization;
using System.Text;

namespace Passbox.Bench;

public static class Stats
{
    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);
}

/// <summary>A CSV file in docs/benchmarks/ and its rows.</summary>
public sealed class Table(string name, params string[] columns)
{
    private readonly List<string[]> rows = [];

    public string Name { get; } = name;

    public IReadOnlyList<string> Columns { get; } = columns;

    public IReadOnlyList<string[]> Rows => rows;

    public void Add(params object[] values) => rows.Add(values.Select(Format).ToArray());

    public void WriteCsv(string dir)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(',', Columns));
        foreach (var row in rows)
        {
            text.AppendLine(string.Join(',', row));
        }

        File.WriteAllText(Path.Combine(dir, Name + ".csv"), text.ToString());
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", Columns) + " |");
        text.AppendLine("|" + string.Concat(Columns.Select(_ => "---|")));
        foreach (var row in rows)
        {
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        return text.ToString();
    }

    private static string Format(object value) => value switch
    {
        double d when double.IsNaN(d) => "",
        double d => d.ToString(Math.Abs(d) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
