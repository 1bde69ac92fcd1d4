namespace Passbox.Operator.Connectors.Milvus;

/// <summary>A Milvus user and, when asked for, its roles.</summary>
public sealed record MilvusUser(string Name, IReadOnlyList<string> Roles);

/// <summary>What <c>Connect</c> tells about the server.</summary>
/// <param name="BuildTags">The release, e.g. <c>v2.4.5</c>; empty on some builds.</param>
/// <param name="DeployMode">e.g. <c>CLUSTER</c> or <c>STANDALONE</c>.</param>
/// <param name="Identifier">The session identifier the server assigned.</param>
public sealed record MilvusServerInfo(string BuildTags, string DeployMode, long Identifier);
