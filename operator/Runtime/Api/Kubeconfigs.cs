using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// Reads kubeconfigs without reflection. KubernetesClient's own reader (KubernetesYaml, behind BuildConfigFromConfigFile
/// and BuildDefaultConfig) builds a reflection-based YamlDotNet deserializer that cannot run in a native AOT build;
/// this one walks YamlDotNet's node tree into the same K8SConfiguration types, so the JIT and the native build read
/// kubeconfigs with the same code. Only what a client connection uses is read: extensions and preferences are skipped.
/// </summary>
public static class Kubeconfigs
{
    /// <summary>
    /// Parses kubeconfig YAML; null for an empty document. Throws <see cref="YamlException"/> (with the position) on
    /// malformed YAML or a field of the wrong shape.
    /// </summary>
    public static K8SConfiguration? Parse(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(new MergingParser(new Parser(reader)));
        }

        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return null;
        }

        var root = Mapping(stream.Documents[0].RootNode);
        return new K8SConfiguration
        {
            ApiVersion = Text(root, "apiVersion"),
            Kind = Text(root, "kind"),
            CurrentContext = Text(root, "current-context"),
            Clusters = List(root, "clusters", n => new Cluster { Name = Text(n, "name"), ClusterEndpoint = Map(n, "cluster", ClusterEndpoint) }),
            Users = List(root, "users", n => new User { Name = Text(n, "name"), UserCredentials = Map(n, "user", UserCredentials) }),
            Contexts = List(root, "contexts", n => new Context { Name = Text(n, "name"), ContextDetails = Map(n, "context", ContextDetails) }),
        };
    }

    /// <summary>
    /// The client configuration for <paramref name="path"/>, or when it is null the default one as kubectl finds it:
    /// $KUBECONFIG (several files are merged), else ~/.kube/config, else the in-cluster service account.
    /// </summary>
    public static KubernetesClientConfiguration ClientConfiguration(string? path = null)
    {
        if (path is null && Environment.GetEnvironmentVariable("KUBECONFIG") is { } list && list.Contains(Path.PathSeparator, StringComparison.Ordinal))
        {
            // Several files are merged as kubectl does by KubernetesClient's own reader (not available in the native AOT build).
            return KubernetesClientConfiguration.BuildDefaultConfig();
        }

        path ??= DefaultPath();
        if (path is null)
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var file = new FileInfo(path);
        var config = Parse(File.ReadAllText(file.FullName))
            ?? throw new KubeConfigException($"the kubeconfig {file.FullName} is empty");
        // Relative certificate and key paths inside the kubeconfig are resolved against its own directory.
        config.FileName = file.FullName;
        return KubernetesClientConfiguration.BuildConfigFromConfigObject(config);
    }

    private static string? DefaultPath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("KUBECONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment;
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home) || !KubernetesClientConfiguration.IsInCluster() ? home : null;
    }

    private static ClusterEndpoint ClusterEndpoint(YamlMappingNode n) => new()
    {
        Server = Text(n, "server"),
        CertificateAuthority = Text(n, "certificate-authority"),
        CertificateAuthorityData = Text(n, "certificate-authority-data"),
        TlsServerName = Text(n, "tls-server-name"),
        SkipTlsVerify = Bool(n, "insecure-skip-tls-verify"),
    };

    private static UserCredentials UserCredentials(YamlMappingNode n) => new()
    {
        ClientCertificate = Text(n, "client-certificate"),
        ClientCertificateData = Text(n, "client-certificate-data"),
        ClientKey = Text(n, "client-key"),
        ClientKeyData = Text(n, "client-key-data"),
        Token = Text(n, "token"),
        UserName = Text(n, "username"),
        Password = Text(n, "password"),
        Impersonate = Text(n, "as"),
        ImpersonateGroups = Texts(n, "as-groups") ?? [],
        ImpersonateUserExtra = Strings(n, "as-user-extra") ?? [],
        AuthProvider = Map(n, "auth-provider", p => new AuthProvider { Name = Text(p, "name"), Config = Strings(p, "config") }),
        ExternalExecution = Map(n, "exec", ExternalExecution),
    };

    private static ExternalExecution ExternalExecution(YamlMappingNode n) => new()
    {
        ApiVersion = Text(n, "apiVersion"),
        Command = Text(n, "command"),
        Arguments = Texts(n, "args"),
        EnvironmentVariables = List(n, "env", e => new Dictionary<string, string>
        {
            ["name"] = Text(e, "name") ?? "",
            ["value"] = Text(e, "value") ?? "",
        }),
        InstallHint = Text(n, "installHint"),
        ProvideClusterInfo = Bool(n, "provideClusterInfo"),
    };

    private static ContextDetails ContextDetails(YamlMappingNode n) => new()
    {
        Cluster = Text(n, "cluster"),
        User = Text(n, "user"),
        Namespace = Text(n, "namespace"),
    };

    private static YamlNode? Child(YamlMappingNode parent, string key) =>
        parent.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static YamlMappingNode Mapping(YamlNode node) =>
        node as YamlMappingNode ?? throw new YamlException(node.Start, node.End, "expected a mapping");

    private static string? Scalar(YamlNode node) => IsNull(node)
        ? null
        : (node as YamlScalarNode ?? throw new YamlException(node.Start, node.End, "expected a single value")).Value;

    private static List<string> ScalarList(YamlNode node) => IsNull(node)
        ? []
        : (node as YamlSequenceNode ?? throw new YamlException(node.Start, node.End, "expected a list")).Children.Select(c => Scalar(c) ?? "").ToList();

    private static string? Text(YamlMappingNode parent, string key) => Child(parent, key) is { } child ? Scalar(child) : null;

    private static bool Bool(YamlMappingNode parent, string key)
    {
        var text = Text(parent, key);
        return text is null ? false : bool.TryParse(text, out var value)
            ? value
            : throw new YamlException(Child(parent, key)!.Start, Child(parent, key)!.End, $"{key} must be true or false");
    }

    private static List<string>? Texts(YamlMappingNode parent, string key) => Child(parent, key) is { } child && !IsNull(child) ? ScalarList(child) : null;

    private static Dictionary<string, string>? Strings(YamlMappingNode parent, string key) => Child(parent, key) is { } child && !IsNull(child)
        ? Mapping(child).Children.ToDictionary(e => Scalar(e.Key) ?? "", e => Scalar(e.Value) ?? "")
        : null;

    private static T? Map<T>(YamlMappingNode parent, string key, Func<YamlMappingNode, T> read)
        where T : class => Child(parent, key) is { } child && !IsNull(child) ? read(Mapping(child)) : null;

    private static List<T>? List<T>(YamlMappingNode parent, string key, Func<YamlMappingNode, T> read)
    {
        if (Child(parent, key) is not { } child || IsNull(child))
        {
            return null;
        }

        var sequence = child as YamlSequenceNode ?? throw new YamlException(child.Start, child.End, $"{key} must be a list");
        return sequence.Children.Select(item => read(Mapping(item))).ToList();
    }
}
