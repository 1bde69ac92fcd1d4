namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// Which CustomResourceDefinitions the cluster has, as the CRD watch of <see cref="CustomResourceUsageFeed"/> last saw
/// them: lets a caller skip a kind the cluster does not have without asking the API server (and without a 403 from a
/// role that never needed that kind).
/// </summary>
public interface IInstalledDefinitions
{
    /// <summary>True when the CRD named <paramref name="definitionName"/> (<c>plural.group</c>) exists.</summary>
    bool IsInstalled(string definitionName);
}
