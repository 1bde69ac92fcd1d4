using System.Text;
using System.Text.Json.Nodes;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>
/// The values a PipelineCredential publishes, read from its source Secret(s). <c>ClusterProblem</c> says why
/// <c>Cluster</c> could not be read from the kubeconfig, when it could not.
/// </summary>
public sealed record PipelineSecretInputs(string? Username, string? Password, string? Token, string? Kubeconfig, ClusterAccess? Cluster, string? ClusterProblem = null)
{
    public override string ToString() => "pipeline secret inputs (redacted)";
}

/// <summary>
/// Shapes a PipelineCredential's Secret so that its consumers pick it up directly: the Secret type follows
/// <c>format</c>, and each consumer adds the labels, annotations and keys it looks for (shared/reference/consumers.md).
/// A spec the schema would refuse today (stored before a rule existed) ends in <see cref="UnbuildableSecretException"/>.
/// </summary>
public static class PipelineSecretBuilder
{
    public const string TypeOpaque = "Opaque";
    public const string TypeBasicAuth = "kubernetes.io/basic-auth";
    public const string TypeDockerConfigJson = "kubernetes.io/dockerconfigjson";

    /// <summary>Argo CD and git hosts accept any non-empty user name with an access token; GitHub documents this one.</summary>
    public const string TokenUsername = "x-access-token";

    /// <summary>
    /// The key Docker Hub's credentials have in a docker config. docker, kaniko, crane and ko look Docker Hub up under this
    /// key alone (an entry "docker.io" is never found, and the push goes out without credentials); the kubelet and
    /// podman/buildah read it as Docker Hub too.
    /// </summary>
    public const string DockerHubConfigKey = "https://index.docker.io/v1/";

    public static SecretPayload Build(PipelineCredential credential, PipelineSecretInputs inputs)
    {
        var spec = credential.Spec;
        var settings = spec.Secret;
        var format = settings?.Format ?? SecretFormat.Opaque;
        var consumers = (settings?.Consumers ?? []).Distinct().ToHashSet();
        var data = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var labels = GeneratedSecretMetadata.Labels(credential.Metadata.Name, PipelineCredential.KindName, settings?.Labels);
        var annotations = GeneratedSecretMetadata.Annotations(settings?.Annotations);

        var type = format switch
        {
            SecretFormat.BasicAuth => TypeBasicAuth,
            SecretFormat.DockerConfigJson => TypeDockerConfigJson,
            _ => TypeOpaque,
        };

        AddBaseKeys(spec, format, inputs, data);

        if (consumers.Contains(SecretConsumer.Tekton))
        {
            AddTekton(spec, format, inputs, data, annotations);
        }

        if (consumers.Contains(SecretConsumer.ArgoCD))
        {
            AddArgoCD(spec, format, inputs, data, labels);
        }

        if (consumers.Contains(SecretConsumer.Jenkins))
        {
            AddJenkins(credential, inputs, data, labels, annotations);
        }

        return new SecretPayload(
            settings?.Name ?? credential.Metadata.Name,
            type,
            data.ToDictionary(pair => pair.Key, pair => Encoding.UTF8.GetBytes(pair.Value)),
            labels,
            annotations);
    }

    private static void AddBaseKeys(PipelineCredentialSpec spec, SecretFormat format, PipelineSecretInputs inputs, SortedDictionary<string, string> data)
    {
        switch (spec.Type)
        {
            case PipelineCredentialType.UsernamePassword when format == SecretFormat.DockerConfigJson:
                data[".dockerconfigjson"] = DockerConfigJson(RegistryConfigKeys(spec.Server ?? throw NoServer("spec.secret.format DockerConfigJson", "the registry")), inputs.Username!, inputs.Password!);
                break;
            case PipelineCredentialType.UsernamePassword:
                data["username"] = inputs.Username!;
                data["password"] = inputs.Password!;
                break;
            case PipelineCredentialType.SecretText:
                data["token"] = inputs.Token!;
                break;
            case PipelineCredentialType.Kubeconfig:
                data["kubeconfig"] = PublishedKubeconfig.ForContext(inputs.Kubeconfig!, spec.Kubeconfig?.Context);
                break;
        }
    }

    /// <summary>
    /// Tekton's credential initialisation reads basic-auth and dockerconfigjson Secrets annotated per host; the
    /// git-clone task's basic-auth workspace reads <c>.gitconfig</c> and <c>.git-credentials</c>.
    /// </summary>
    private static void AddTekton(PipelineCredentialSpec spec, SecretFormat format, PipelineSecretInputs inputs, SortedDictionary<string, string> data, Dictionary<string, string> annotations)
    {
        if (spec.Type == PipelineCredentialType.Kubeconfig)
        {
            return;
        }

        // Tekton finds the Secret by the annotation that names the server. The schema requires spec.server for Tekton, but a
        // credential stored before that rule was Ready with a Secret Tekton silently ignored: it is told as InvalidSpec,
        // like Argo CD without a server, and its published Secret stays.
        var server = Address(spec.Server ?? throw NoServer("spec.secret.consumers Tekton", "the git repository or registry its tekton.dev/git-0 or docker-0 annotation names"));
        if (NamesRegistry(spec, format))
        {
            // Tekton writes the annotation's value as the key of the docker config it builds for a basic-auth Secret.
            if (ProbeUrls.IsDockerHub(server.Uri.Host))
            {
                annotations["tekton.dev/docker-0"] = DockerHubConfigKey;
                return;
            }

            annotations["tekton.dev/docker-0"] = AsWritten(spec.Server);
            if (server.RegistryAlias is { } alias)
            {
                annotations["tekton.dev/docker-1"] = $"https://{alias}";
            }

            return;
        }

        // git's credential store compares host:port as a string: https://git.example.com:443/app.git does not find the
        // credentials of https://git.example.com, nor the other way round. A written default port gets both lines.
        var (user, secret) = spec.Type == PipelineCredentialType.SecretText ? (TokenUsername, inputs.Token!) : (inputs.Username!, inputs.Password!);
        var login = $"{Uri.EscapeDataString(user)}:{Uri.EscapeDataString(secret)}";
        var authorities = new[] { server.Authority, server.AuthorityWithoutDefaultPort }.OfType<string>().ToList();
        for (var i = 0; i < authorities.Count; i++)
        {
            annotations[$"tekton.dev/git-{i}"] = $"{server.Uri.Scheme}://{authorities[i]}";
        }

        data[".git-credentials"] = string.Concat(authorities.Select(authority => $"{server.Uri.Scheme}://{login}@{authority}\n"));
        // git matches a [credential "<url>"] section with the default port and without as one server.
        data[".gitconfig"] = $"[credential \"{server.Origin}\"]\n\thelper = store\n";
    }

    /// <summary>
    /// Argo CD's declarative setup: a labelled Secret with url/username/password, or a cluster Secret. A kubeconfig can
    /// only be a cluster, and a repository needs a username and password or a token and the URL it matches.
    /// </summary>
    private static void AddArgoCD(PipelineCredentialSpec spec, SecretFormat format, PipelineSecretInputs inputs, SortedDictionary<string, string> data, Dictionary<string, string> labels)
    {
        var argo = spec.Secret?.ArgoCD;
        var kubeconfig = spec.Type == PipelineCredentialType.Kubeconfig;
        var secretType = argo?.SecretType ?? (kubeconfig ? ArgoCDSecretType.Cluster : ArgoCDSecretType.RepoCreds);
        if ((secretType == ArgoCDSecretType.Cluster) != kubeconfig)
        {
            throw new UnbuildableSecretException(
                $"spec.secret.argoCD.secretType {secretType} does not fit type {spec.Type}: Cluster is for type Kubeconfig, " +
                "Repository and RepoCreds are for UsernamePassword and SecretText");
        }

        if (!kubeconfig && spec.Server is null)
        {
            var which = argo?.SecretType is null ? $"{secretType} (the default for type {spec.Type})" : secretType.ToString();
            throw NoServer($"spec.secret.argoCD.secretType {which}", "the repository URL Argo CD matches");
        }

        labels["argocd.argoproj.io/secret-type"] = secretType switch
        {
            ArgoCDSecretType.Repository => "repository",
            ArgoCDSecretType.RepoCreds => "repo-creds",
            _ => "cluster",
        };

        if (argo?.Project is { } project)
        {
            data["project"] = project;
        }

        if (secretType == ArgoCDSecretType.Cluster)
        {
            // Argo CD cannot use a cluster Secret without server and config; with probe None nothing else would notice.
            var cluster = inputs.Cluster ?? throw new UnbuildableSecretException(
                $"an Argo CD cluster Secret needs the server and credentials of the kubeconfig's context, but {inputs.ClusterProblem ?? "the kubeconfig could not be read"}: " +
                $"fix the kubeconfig in Secret {spec.Kubeconfig?.SecretRef?.Name} (key {spec.Kubeconfig?.SecretRef?.Key}) or spec.kubeconfig.context");
            // Argo CD shows clusters and lets Applications target them by this name; context names repeat across clusters
            // (default, kubernetes-admin@kubernetes), so spec.secret.argoCD.clusterName can give each its own.
            data["name"] = argo?.ClusterName ?? cluster.ContextName;
            data["server"] = cluster.Server;
            data["config"] = ArgoClusterConfig(cluster);
            return;
        }

        var registry = NamesRegistry(spec, format);

        // A registry holds no git repositories: its default is Helm charts stored in it. Earlier releases defaulted to git
        // there too, which Argo CD can never use for a registry; the data of such Secrets changes once, in place.
        var repositoryType = argo?.RepositoryType ?? (registry ? "helm" : "git");
        if (repositoryType == "helm" && registry)
        {
            // Helm charts in an OCI registry: Argo CD logs in with `helm registry login` only when enableOCI is set, and
            // matches the url (a prefix for repo-creds) against an Application's repoURL, which has no scheme for these.
            data["url"] = WithoutScheme(spec.Server!);
            data["enableOCI"] = "true";
        }
        else
        {
            data["url"] = repositoryType == "oci" ? OciUrl(spec.Server!) : AsWritten(spec.Server!);
        }

        // Both OCI forms lose the scheme (no scheme, or oci://), so Argo CD cannot tell a registry written http:// from
        // an https:// one and speaks TLS to it: pulls from a plain-HTTP registry failed (a TLS handshake with an HTTP
        // server). Argo CD's repository flag for that passes --plain-http to Helm and the OCI client.
        if ((repositoryType == "oci" || (repositoryType == "helm" && registry)) && Address(spec.Server!).Uri.Scheme == Uri.UriSchemeHttp)
        {
            data["insecureOCIForceHttp"] = "true";
        }

        data["type"] = repositoryType;
        data["username"] = spec.Type == PipelineCredentialType.SecretText ? TokenUsername : inputs.Username!;
        data["password"] = spec.Type == PipelineCredentialType.SecretText ? inputs.Token! : inputs.Password!;
    }

    /// <summary>
    /// Jenkins' kubernetes-credentials-provider: a type label, keys per type, and the ID, scope and description. The type
    /// follows the keys Passbox writes, so it is always set; ID, scope and description are defaults that a label or
    /// annotation in spec.secret overrides (pipelines that already refer to another credential ID keep working).
    /// </summary>
    private static void AddJenkins(PipelineCredential credential, PipelineSecretInputs inputs, SortedDictionary<string, string> data, Dictionary<string, string> labels, Dictionary<string, string> annotations)
    {
        var spec = credential.Spec;
        switch (spec.Type)
        {
            case PipelineCredentialType.UsernamePassword:
                labels["jenkins.io/credentials-type"] = "usernamePassword";
                data["username"] = inputs.Username!;
                data["password"] = inputs.Password!;
                break;
            case PipelineCredentialType.SecretText:
                labels["jenkins.io/credentials-type"] = "secretText";
                data["text"] = inputs.Token!;
                break;
            case PipelineCredentialType.Kubeconfig:
                labels["jenkins.io/credentials-type"] = "kubeconfig";
                data["kubeconfig"] = PublishedKubeconfig.ForContext(inputs.Kubeconfig!, spec.Kubeconfig?.Context);
                break;
        }

        labels.TryAdd("jenkins.io/credentials-scope", "global");
        annotations.TryAdd("jenkins.io/credentials-id", credential.Metadata.Name);
        if (!string.IsNullOrEmpty(spec.Description))
        {
            annotations.TryAdd("jenkins.io/credentials-description", spec.Description);
        }
    }

    public static string DockerConfigJson(IReadOnlyList<string> registryKeys, string username, string password)
    {
        ArgumentNullException.ThrowIfNull(registryKeys);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
        var auths = new JsonObject();
        foreach (var key in registryKeys)
        {
            auths[key] = new JsonObject { ["username"] = username, ["password"] = password, ["auth"] = auth };
        }

        return new JsonObject { ["auths"] = auths }.ToJsonString();
    }

    private static string ArgoClusterConfig(ClusterAccess cluster)
    {
        var tls = new JsonObject { ["insecure"] = cluster.InsecureSkipTlsVerify };
        if (cluster.TlsServerName is { } serverName)
        {
            tls["serverName"] = serverName;
        }

        if (cluster.CertificateAuthorityData is { } ca)
        {
            tls["caData"] = ca;
        }

        if (cluster.ClientCertificateData is { } cert)
        {
            tls["certData"] = cert;
        }

        if (cluster.ClientKeyData is { } key)
        {
            tls["keyData"] = key;
        }

        var config = new JsonObject { ["tlsClientConfig"] = tls };
        if (cluster.ProxyUrl is { } proxyUrl)
        {
            config["proxyUrl"] = proxyUrl;
        }

        if (cluster.BearerToken is { } token)
        {
            config["bearerToken"] = token;
        }

        if (cluster.Username is { } user)
        {
            config["username"] = user;
            config["password"] = cluster.Password ?? "";
        }

        return config.ToJsonString();
    }

    /// <summary>
    /// The keys of the registry in a docker config: host and port as written, no scheme, user info or path; Docker Hub under
    /// any of its names as <see cref="DockerHubConfigKey"/>. A written https port 443 also gets the bare host: docker, kaniko
    /// and crane look up <c>registry.example.com:443/app</c> and <c>registry.example.com/app</c> under different keys, and
    /// both name this registry.
    /// </summary>
    public static IReadOnlyList<string> RegistryConfigKeys(string server)
    {
        var address = Address(server);
        if (ProbeUrls.IsDockerHub(address.Uri.Host))
        {
            return [DockerHubConfigKey];
        }

        return address.RegistryAlias is { } alias ? [address.Authority, alias] : [address.Authority];
    }

    /// <summary>
    /// spec.server parsed as a URL (https:// when it names no scheme). Neither its URI's authority nor the address's
    /// carries user info, so a token written into the URL never reaches what is derived from it.
    /// </summary>
    private static ServerAddress Address(string server) =>
        ServerAddress.TryParse(server, out var address)
            ? address
            : throw new UnbuildableSecretException(
                "spec.server is not a URL: give a host with an optional port of digits and an optional path, " +
                "such as https://git.example.com/team/app.git or registry.example.com:5000");

    /// <summary>
    /// spec.server as the user wrote it (consumers compare it with their own URLs), with https:// when it names no scheme
    /// and without user info: a token in the URL must not be copied into a URL key or an annotation.
    /// </summary>
    private static string AsWritten(string server)
    {
        var address = Address(server);
        return string.IsNullOrEmpty(address.Uri.UserInfo)
            ? WithScheme(server)
            : address.Origin + address.Uri.GetComponents(UriComponents.PathAndQuery | UriComponents.Fragment, UriFormat.UriEscaped);
    }

    /// <summary>
    /// spec.server as Argo CD names an OCI repository: <c>oci://registry/path</c>. Argo CD finds a repository's credentials
    /// by its URL (a prefix for repo-creds), and an application's OCI source is always <c>oci://…</c>, so an <c>https://</c>
    /// url was never matched and the pull went out without credentials.
    /// </summary>
    private static string OciUrl(string server) => "oci://" + WithoutScheme(server);

    /// <summary>spec.server as written, without user info and without its scheme: <c>registry.example.com/charts</c>.</summary>
    private static string WithoutScheme(string server)
    {
        var written = AsWritten(server);
        return written[(written.IndexOf("://", StringComparison.Ordinal) + 3)..];
    }

    /// <summary>
    /// True when spec.server is a container registry rather than a git server: the Secret is a docker config, or the
    /// check is the registry's. Tekton's annotation and Argo CD's repository type follow it.
    /// </summary>
    private static bool NamesRegistry(PipelineCredentialSpec spec, SecretFormat format) =>
        format == SecretFormat.DockerConfigJson || spec.Validation?.Probe == PipelineProbe.ContainerRegistry;

    private static string WithScheme(string server) => ServerAddress.WithScheme(server);

    private static UnbuildableSecretException NoServer(string what, string serverIs) => new($"{what} needs spec.server ({serverIs}), which is not set");
}
