using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>
/// The kubeconfig as the generated Secret's <c>kubeconfig</c> key carries it. Its consumers (kubectl in a Tekton task,
/// Jenkins' kubeconfig credential, Argo CD's tools) take the kubeconfig's current-context, while the check took
/// spec.kubeconfig.context: a kubeconfig whose current-context names another context (or none) sent the pipeline to a
/// cluster that was never checked, such as staging's credentials checked and prod's used. So the current-context is
/// set to the checked context; everything else stays as written.
/// </summary>
public static class PublishedKubeconfig
{
    private static readonly YamlScalarNode CurrentContextKey = new("current-context");

    /// <summary>
    /// <paramref name="kubeconfig"/> with its current-context set to <paramref name="context"/>. Unchanged, to the byte,
    /// when no context is given, when it already is the current one, or when the text is no YAML mapping (then nothing
    /// could use it, and the check or the condition says why).
    /// </summary>
    public static string ForContext(string kubeconfig, string? context)
    {
        if (string.IsNullOrWhiteSpace(context))
        {
            return kubeconfig;
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(kubeconfig));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // Broken YAML (YamlDotNet's scanner throws InvalidOperationException for some): nothing to point elsewhere.
            return kubeconfig;
        }

        if (stream.Documents.Count != 1 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            return kubeconfig;
        }

        if (root.Children.TryGetValue(CurrentContextKey, out var current) && current is YamlScalarNode { Value: var name } && name == context)
        {
            return kubeconfig;
        }

        // Quoted: a context name such as "yes", "null" or "0" stays a string for every YAML reader.
        root.Children[CurrentContextKey] = new YamlScalarNode(context) { Style = ScalarStyle.DoubleQuoted };
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        // YamlDotNet ends the document with an explicit "..." marker: valid, but not what a kubeconfig looks like.
        var text = writer.ToString();
        return text.EndsWith("\n...\n", StringComparison.Ordinal) ? text[..^"...\n".Length] : text;
    }
}
