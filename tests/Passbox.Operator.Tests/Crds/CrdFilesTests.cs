using Passbox.CrdGen;

namespace Passbox.Operator.Tests.Crds;

public sealed class CrdFilesTests : IDisposable
{
    private static readonly CrdGenerator Generator = new(typeof(Widget).Assembly);

    private readonly string _dir = Directory.CreateTempSubdirectory("crdgen-").FullName;

    private readonly IReadOnlyList<GeneratedCrd> _crds = [Generator.Generate(typeof(Gadget)), Generator.Generate(typeof(Widget))];

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_creates_one_file_per_crd_and_deletes_stale_passbox_files_only()
    {
        File.WriteAllText(Path.Combine(_dir, "olds.passbox.dev.yaml"), "stale");
        File.WriteAllText(Path.Combine(_dir, "certificates.cert-manager.io.yaml"), "not ours");

        var changed = CrdFiles.Write(_dir, _crds);

        changed.Should().BeEquivalentTo("gadgets.test.passbox.dev.yaml", "widgets.test.passbox.dev.yaml", "olds.passbox.dev.yaml");
        Directory.EnumerateFiles(_dir).Select(Path.GetFileName).Should().BeEquivalentTo(
            "gadgets.test.passbox.dev.yaml", "widgets.test.passbox.dev.yaml", "certificates.cert-manager.io.yaml");
        File.ReadAllText(Path.Combine(_dir, "widgets.test.passbox.dev.yaml")).Should().Be(_crds[1].Yaml);
    }

    [Fact]
    public void Write_leaves_unchanged_files_alone()
    {
        CrdFiles.Write(_dir, _crds);

        CrdFiles.Write(_dir, _crds).Should().BeEmpty();
    }

    [Fact]
    public void Differences_are_empty_after_write()
    {
        CrdFiles.Write(_dir, _crds);

        CrdFiles.Differences(_dir, _crds).Should().BeEmpty();
    }

    [Fact]
    public void Differences_name_changed_missing_and_stale_files()
    {
        CrdFiles.Write(_dir, _crds);
        var widget = Path.Combine(_dir, "widgets.test.passbox.dev.yaml");
        File.WriteAllText(widget, File.ReadAllText(widget).Replace("maxLength: 253", "maxLength: 255", StringComparison.Ordinal));
        File.Delete(Path.Combine(_dir, "gadgets.test.passbox.dev.yaml"));
        File.WriteAllText(Path.Combine(_dir, "olds.passbox.dev.yaml"), "stale");

        var differences = CrdFiles.Differences(_dir, _crds);

        differences.Should().SatisfyRespectively(
            gadget => gadget.Should().Be("gadgets.test.passbox.dev.yaml: missing"),
            changed => changed.Should().StartWith("widgets.test.passbox.dev.yaml: differs").And.Contain("maxLength: 255").And.Contain("maxLength: 253"),
            stale => stale.Should().StartWith("olds.passbox.dev.yaml: no API type generates it"));
    }

    [Fact]
    public void Crlf_checkouts_do_not_count_as_drift()
    {
        CrdFiles.Write(_dir, _crds);
        var widget = Path.Combine(_dir, "widgets.test.passbox.dev.yaml");
        File.WriteAllText(widget, File.ReadAllText(widget).Replace("\n", "\r\n", StringComparison.Ordinal));

        CrdFiles.Differences(_dir, _crds).Should().BeEmpty();
    }
}
