using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Passbox.IntegrationTests.Doubles.Milvus;

/// <summary>
/// Authenticates every unary call the way Milvus's proxy does: metadata <c>authorization</c> is
/// Base64 of <c>user:password</c>, or of a bare API key; failures are gRPC Unauthenticated with
/// Milvus's own messages.
/// </summary>
internal sealed class MilvusAuthInterceptor(MilvusDoubleState state) : Interceptor
{
    public const string UserKey = "milvus-user";

    public const string BadPassword = "auth check failure, please check username and password are correct";
    public const string BadApiKey = "auth check failure, please check api key is correct";
    public const string MissingAuthorization = "missing authorization in header";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        // An old server has no Connect at all: grpc-go answers before any authentication.
        if (state.ConnectUnimplemented && context.Method.EndsWith("/Connect", StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, "unknown method Connect for service milvus.proto.milvus.MilvusService"));
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (string.IsNullOrEmpty(header))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, MissingAuthorization));
        }

        string raw;
        try
        {
            raw = Encoding.UTF8.GetString(Convert.FromBase64String(header));
        }
        catch (FormatException)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, BadPassword));
        }

        var colon = raw.IndexOf(':', StringComparison.Ordinal);
        string user;
        if (colon >= 0)
        {
            user = raw[..colon];
            if (!state.CheckPassword(user, raw[(colon + 1)..]))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, BadPassword));
            }
        }
        else
        {
            user = state.UserForApiKey(raw) ?? throw new RpcException(new Status(StatusCode.Unauthenticated, BadApiKey));
        }

        context.UserState[UserKey] = user;
        return continuation(request, context);
    }
}
