namespace Passbox.Operator.Connectors.Milvus;

/// <summary>A Milvus call answered, but its <c>common.Status</c> says it failed.</summary>
public sealed class MilvusStatusException : Exception
{
    public MilvusStatusException()
    {
    }

    public MilvusStatusException(string message)
        : base(message)
    {
    }

    public MilvusStatusException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MilvusStatusException(string method, int code, int errorCode, string reason)
        : base($"Milvus {method} failed: code {code}, error_code {errorCode}: {reason}")
    {
        Method = method;
        Code = code;
        ErrorCode = errorCode;
        Reason = reason;
    }

    public string Method { get; } = string.Empty;

    /// <summary><c>Status.code</c>: 800 DatabaseNotFound, 1100 ParameterInvalid, 1400, 1401, ...</summary>
    public int Code { get; }

    /// <summary><c>Status.error_code</c>, the legacy enum.</summary>
    public int ErrorCode { get; }

    public string Reason { get; } = string.Empty;
}
