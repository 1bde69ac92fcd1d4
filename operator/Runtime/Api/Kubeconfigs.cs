using System.Runtime.CompilerServices;
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
/// kubeconfigs with the same code. Nothing in the operator calls KubernetesClient's reader, which keeps it and
/// YamlDotNet's reflection out of the native binary (and their trim warnings out of make publish-aot). Only what a client connection uses is read: extensions and preferences are skipped.
/// </summary>
public static class Kubeconfigs
{
    /// <summary>
    /// Parses kubeconfig YAML; null for an empty document. Throws <see cref="YamlException"/> (with the position) on
    /// malformed YAML or a field of the wrong shape.
    /// </summary>
    public static K8SConfiguration? Parse(string yaml) => Read(yaml)?.Config;

    /// <summary>
    /// As <see cref="Parse"/>, with the fields of a cluster that KubernetesClient's model has no place for
    /// (<c>proxy-url</c>).
    /// </summary>
    public static KubeconfigDocument? Read(string yaml)
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
        var proxyUrls = new Dictionary<string, string?>(StringComparer.Ordinal);
        var config = new K8SConfiguration
        {
            ApiVersion = Text(root, "apiVersion"),
            Kind = Text(root, "kind"),
            CurrentContext = Text(root, "current-context"),
            Clusters = List(root, "clusters", n => Cluster(n, proxyUrls)),
            Users = List(root, "users", n => new User { Name = Text(n, "name"), UserCredentials = Map(n, "user", UserCredentials) }),
            Contexts = List(root, "contexts", n => new Context { Name = Text(n, "name"), ContextDetails = Map(n, "context", ContextDetails) }),
        };
        return new KubeconfigDocument(config, proxyUrls.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal));
    }

    /// <summary>
    /// The client configuration for <paramref name="path"/>, or when it is null the default one as kubectl finds it:
    /// $KUBECONFIG (several files are merged), else ~/.kube/config, else the in-cluster service account.
    /// </summary>
    public static KubernetesClientConfiguration ClientConfiguration(string? path = null)
    {
        if (path is null && Environment.GetEnvironmentVariable("KUBECONFIG") is { } list && list.Contains(Path.PathSeparator, StringComparison.Ordinal))
        {
            var files = list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(f => new FileInfo(f))
                .Where(f => f.Exists)
                .ToList();
            var merged = Merge(files.Select(f => (f, Parse(File.ReadAllText(f.FullName)))))
                ?? throw new KubeConfigException($"no kubeconfig in KUBECONFIG={list}");
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(Startable(merged));
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
        return KubernetesClientConfiguration.BuildConfigFromConfigObject(Startable(config));
    }

    /// <summary>
    /// The native build cannot start exec credential plugins: KubernetesClient hands them KUBERNETES_EXEC_INFO
    /// serialized by reflection, which the native build leaves out. Say so up front instead of failing on first use.
    /// </summary>
    private static K8SConfiguration Startable(K8SConfiguration config)
    {
        if (RuntimeFeature.IsDynamicCodeSupported)
        {
            return config;
        }

        var userName = config.Contexts?.FirstOrDefault(c => c.Name == config.CurrentContext)?.ContextDetails?.User;
        if (config.Users?.FirstOrDefault(u => u.Name == userName)?.UserCredentials?.ExternalExecution is not null)
        {
            throw new KubeConfigException(
                $"kubeconfig user \"{userName}\" gets its credentials from an exec plugin, which the native (AOT) build of the operator " +
                "cannot run: use a token or client certificate, the in-cluster service account, or the JIT build");
        }

        return config;
    }

    /// <summary>
    /// Merges kubeconfig files as kubectl does for a $KUBECONFIG list: the first file that sets current-context wins,
    /// and of clusters, users and contexts of the same name the first one wins. Relative certificate and key paths are
    /// made absolute against the directory of the file that names them. Null when no file has content.
    /// </summary>
    public static K8SConfiguration? Merge(IEnumerable<(FileInfo File, K8SConfiguration? Config)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        K8SConfiguration? merged = null;
        foreach (var (file, config) in files)
        {
            if (config is null)
            {
                continue;
            }

            var directory = file.DirectoryName ?? ".";
            merged ??= new K8SConfiguration { ApiVersion = config.ApiVersion, Kind = config.Kind, Clusters = [], Users = [], Contexts = [], FileName = file.FullName };
            merged.CurrentContext ??= string.IsNullOrEmpty(config.CurrentContext) ? null : config.CurrentContext;
            merged.Clusters = Union(merged.Clusters, config.Clusters, c => c.Name, c =>
            {
                c.ClusterEndpoint?.CertificateAuthority = Absolute(directory, c.ClusterEndpoint.CertificateAuthority);
            });
            merged.Users = Union(merged.Users, config.Users, u => u.Name, u =>
            {
                if (u.UserCredentials is { } credentials)
                {
                    credentials.ClientCertificate = Absolute(directory, credentials.ClientCertificate);
                    credentials.ClientKey = Absolute(directory, credentials.ClientKey);
                }
            });
            merged.Contexts = Union(merged.Contexts, config.Contexts, c => c.Name, _ => { });
        }

        return merged;
    }

    private static List<T> Union<T>(IEnumerable<T>? first, IEnumerable<T>? next, Func<T, string?> name, Action<T> absolutize)
    {
        var result = first?.ToList() ?? [];
        foreach (var item in next ?? [])
        {
            if (!result.Any(existing => name(existing) == name(item)))
            {
                absolutize(item);
                result.Add(item);
            }
        }

        return result;
    }

    private static string? Absolute(string directory, string? path) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));

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

    /// <summary>
    /// A cluster entry; its <c>proxy-url</c> (null for none) goes to <paramref name="proxyUrls"/> under its name. The first
    /// entry of a name wins, as for every other field: a later duplicate's proxy must not join the first one's server.
    /// </summary>
    private static Cluster Cluster(YamlMappingNode n, Dictionary<string, string?> proxyUrls)
    {
        var cluster = new Cluster { Name = Text(n, "name"), ClusterEndpoint = Map(n, "cluster", ClusterEndpoint) };
        if (cluster.Name is { } name)
        {
            proxyUrls.TryAdd(name, Child(n, "cluster") is YamlMappingNode body && Text(body, "proxy-url") is { Length: > 0 } proxyUrl ? proxyUrl : null);
        }

        return cluster;
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

/// <summary>A kubeconfig as read by <see cref="Kubeconfigs.Read"/>.</summary>
/// <param name="Config">Clusters, users and contexts in KubernetesClient's model.</param>
/// <param name="ClusterProxyUrls"><c>proxy-url</c> by cluster name, for the clusters that set one.</param>
public sealed record KubeconfigDocument(K8SConfiguration Config, IReadOnlyDictionary<string, string> ClusterProxyUrls)
{
    /// <summary>The <c>proxy-url</c> of cluster <paramref name="clusterName"/>, or null.</summary>
    public string? ProxyUrl(string? clusterName) =>
        clusterName is not null && ClusterProxyUrls.TryGetValue(clusterName, out var url) ? url : null;
}
