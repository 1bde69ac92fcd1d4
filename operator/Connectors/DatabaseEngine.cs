namespace Passbox.Operator.Connectors;

/// <summary>The database engines a ClusterCredential can log in to.</summary>
public enum DatabaseEngine
{
    /// <summary>OceanBase in MySQL mode, through OBProxy/ODP or straight to an OBServer.</summary>
    OceanBase,

    /// <summary>MySQL or MariaDB.</summary>
    MySQL,

    /// <summary>Milvus or Zilliz Cloud.</summary>
    Milvus,
}
