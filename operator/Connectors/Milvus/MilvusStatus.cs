using Passbox.Operator.Connectors.Milvus.Protocol;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>Reading <c>common.Status</c>.</summary>
public static class MilvusStatus
{
    public const int DatabaseNotFound = 800;
    public const int ParameterInvalid = 1100;
    public const int NotAuthenticated = 1400;
    public const int NotPermitted = 1401;
    public const int LegacyPermissionDenied = 3;

    /// <summary>
    /// Success needs both codes at zero: servers before 2.3 set only <c>error_code</c>, newer ones
    /// may set only <c>code</c>. A missing Status counts as success, as in the official SDKs.
    /// </summary>
    public static bool IsSuccess(Status? status) => status is null || (status.ErrorCode == 0 && status.Code == 0);

    internal static void EnsureSuccess(Status? status, string method)
    {
        if (!IsSuccess(status))
        {
            throw new MilvusStatusException(method, status!.Code, status.ErrorCode, status.Reason);
        }
    }
}
