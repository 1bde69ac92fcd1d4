using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace Passbox.CrdGen;

/// <summary>
/// Reads the compiler's XML documentation file and renders <c>summary</c> texts as plain
/// descriptions for <c>kubectl explain</c>.
/// </summary>
public sealed class XmlDocs
{
    // Placeholders survive whitespace collapsing and become real breaks at the end.
    private const char ParagraphBreak = '\u2029';
    private const char LineBreak = '\u2028';

    private readonly Dictionary<string, XElement> _members;

    private XmlDocs(Dictionary<string, XElement> members) => _members = members;

    public static XmlDocs Load(string path)
    {
        var doc = XDocument.Load(path);
        var members = new Dictionary<string, XElement>(StringComparer.Ordinal);
        foreach (var member in doc.Descendants("member"))
        {
            var name = (string?)member.Attribute("name");
            if (name is not null)
            {
                members[name] = member;
            }
        }

        return new XmlDocs(members);
    }

    /// <summary>The XML file the compiler writes next to the assembly (<c>GenerateDocumentationFile</c>).</summary>
    public static string PathFor(Assembly assembly) => Path.ChangeExtension(assembly.Location, ".xml");

    public string? Summary(Type type) => Render(Member("T:" + DocId(type))?.Element("summary"));

    /// <summary>
    /// The property's own summary, or for a positional record the <c>param</c> text of its
    /// declaring type (the compiler writes no separate entry for those properties).
    /// </summary>
    public string? Summary(PropertyInfo property)
    {
        var declaring = property.DeclaringType!;
        var own = Render(Member("P:" + DocId(declaring) + "." + property.Name)?.Element("summary"));
        if (own is not null)
        {
            return own;
        }

        var param = Member("T:" + DocId(declaring))?
            .Elements("param")
            .FirstOrDefault(p => (string?)p.Attribute("name") == property.Name);
        return Render(param);
    }

    private XElement? Member(string id) => _members.GetValueOrDefault(id);

    private static string DocId(Type type)
    {
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            type = type.GetGenericTypeDefinition();
        }

        return type.FullName!.Replace('+', '.');
    }

    internal static string? Render(XElement? element)
    {
        if (element is null)
        {
            return null;
        }

        var raw = new StringBuilder();
        AppendNodes(raw, element.Nodes());
        var text = Normalise(raw.ToString());
        return text.Length == 0 ? null : text;
    }

    private static void AppendNodes(StringBuilder sb, IEnumerable<XNode> nodes)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case XText text:
                    sb.Append(text.Value);
                    break;
                case XElement e:
                    AppendElement(sb, e);
                    break;
                default:
                    break;
            }
        }
    }

    private static void AppendElement(StringBuilder sb, XElement e)
    {
        switch (e.Name.LocalName)
        {
            case "see" or "seealso":
                if (!e.IsEmpty)
                {
                    AppendNodes(sb, e.Nodes());
                }
                else if ((string?)e.Attribute("cref") is { } cref)
                {
                    sb.Append(CrefDisplayName(cref));
                }
                else
                {
                    sb.Append((string?)e.Attribute("langword") ?? (string?)e.Attribute("href"));
                }

                break;
            case "paramref" or "typeparamref":
                sb.Append((string?)e.Attribute("name"));
                break;
            case "para":
                sb.Append(ParagraphBreak);
                AppendNodes(sb, e.Nodes());
                sb.Append(ParagraphBreak);
                break;
            case "br":
                sb.Append(LineBreak);
                break;
            case "item":
                sb.Append(LineBreak).Append("- ");
                AppendNodes(sb, e.Nodes());
                break;
            case "list":
                sb.Append(ParagraphBreak);
                AppendNodes(sb, e.Nodes());
                sb.Append(ParagraphBreak);
                break;
            default:
                // c, code, b, i, term, description and anything unknown: their text only.
                AppendNodes(sb, e.Nodes());
                break;
        }
    }

    private static string CrefDisplayName(string cref)
    {
        var name = cref.Contains(':', StringComparison.Ordinal) ? cref[(cref.IndexOf(':', StringComparison.Ordinal) + 1)..] : cref;
        var paren = name.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            name = name[..paren];
        }

        name = name[(name.LastIndexOf('.') + 1)..];
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick >= 0 ? name[..tick] : name;
    }

    private static string Normalise(string raw)
    {
        var sb = new StringBuilder(raw.Length);
        var pendingSpace = false;
        foreach (var ch in raw)
        {
            if (ch is ParagraphBreak or LineBreak)
            {
                pendingSpace = false;
                sb.Append(ch);
            }
            else if (char.IsWhiteSpace(ch))
            {
                pendingSpace = true;
            }
            else
            {
                if (pendingSpace && sb.Length > 0 && sb[^1] is not (ParagraphBreak or LineBreak))
                {
                    sb.Append(' ');
                }

                pendingSpace = false;
                sb.Append(ch);
            }
        }

        // Split on breaks, trim each line, and keep at most one empty line between paragraphs.
        var lines = new List<string>();
        var current = new StringBuilder();
        var breakRun = 0;
        foreach (var ch in sb.ToString())
        {
            if (ch is ParagraphBreak or LineBreak)
            {
                FlushLine();
                breakRun = Math.Max(breakRun, ch == ParagraphBreak ? 2 : 1);
            }
            else
            {
                if (breakRun > 0 && lines.Count > 0)
                {
                    if (breakRun == 2)
                    {
                        lines.Add(string.Empty);
                    }
                }

                breakRun = 0;
                current.Append(ch);
            }
        }

        FlushLine();
        return string.Join('\n', lines).Trim();

        void FlushLine()
        {
            var line = current.ToString().Trim();
            current.Clear();
            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }
    }
}
