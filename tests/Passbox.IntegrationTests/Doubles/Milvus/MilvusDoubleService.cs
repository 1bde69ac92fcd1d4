using System.Text;
using System.Text.RegularExpressions;
using Grpc.Core;
using Passbox.Operator.Connectors.Milvus.Protocol;
using ProtoStatus = Passbox.Operator.Connectors.Milvus.Protocol.Status;

namespace Passbox.IntegrationTests.Doubles.Milvus;

/// <summary>The Milvus calls the double answers, after <see cref="MilvusAuthInterceptor"/> let them in.</summary>
internal sealed partial class MilvusDoubleService(MilvusDoubleState state) : MilvusService.MilvusServiceBase
{
    private const int UnexpectedError = 1;
    private const int CodeDatabaseNotFound = 800;
    private const int CodeParameterInvalid = 1100;
    private const int CodeNotAuthenticated = 1400;
    private const int CodeNotPermitted = 1401;
    private const int CodeUnexpected = 65535;

    public override Task<ConnectResponse> Connect(ConnectRequest request, ServerCallContext context)
    {
        var database = DatabaseOf(context);
        if (!state.HasDatabase(database))
        {
            return Task.FromResult(new ConnectResponse { Status = DatabaseNotFound(database) });
        }

        return Task.FromResult(new ConnectResponse
        {
            Status = Success(),
            ServerInfo = new ServerInfo
            {
                BuildTags = state.ReportBuildTags ? state.Version : string.Empty,
                DeployMode = "STANDALONE",
                GoVersion = "go1.22 (double)",
            },
            Identifier = state.NextIdentifier(),
        });
    }

    public override Task<CheckHealthResponse> CheckHealth(CheckHealthRequest request, ServerCallContext context) =>
        Task.FromResult(new CheckHealthResponse { Status = Success(), IsHealthy = true });

    public override Task<GetVersionResponse> GetVersion(GetVersionRequest request, ServerCallContext context) =>
        Task.FromResult(new GetVersionResponse { Status = Success(), Version = state.Version });

    public override Task<ListDatabasesResponse> ListDatabases(ListDatabasesRequest request, ServerCallContext context)
    {
        var response = new ListDatabasesResponse { Status = Success() };
        response.DbNames.AddRange(state.Databases());
        return Task.FromResult(response);
    }

    public override Task<ShowCollectionsResponse> ShowCollections(ShowCollectionsRequest request, ServerCallContext context)
    {
        var database = string.IsNullOrEmpty(request.DbName) ? DatabaseOf(context) : request.DbName;
        return Task.FromResult(state.HasDatabase(database)
            ? new ShowCollectionsResponse { Status = Success() }
            : new ShowCollectionsResponse { Status = DatabaseNotFound(database) });
    }

    public override Task<ProtoStatus> CreateCredential(CreateCredentialRequest request, ServerCallContext context)
    {
        RequireAdmin(context, "CreateOwnership");
        if (!ValidUserName().IsMatch(request.Username))
        {
            return Failure(CodeParameterInvalid, $"invalid parameter[expected=valid username][actual={request.Username}]");
        }

        if (DecodePassword(request.Password) is not { } password)
        {
            return Failure(CodeParameterInvalid, "decode password fail");
        }

        if (!ValidPassword(password))
        {
            return Failure(CodeParameterInvalid, "invalid parameter[expected=valid password][actual=invalid password length]");
        }

        return state.TryCreateUser(request.Username, password)
            ? Task.FromResult(Success())
            : Failure(CodeUnexpected, $"user already exists:{request.Username}");
    }

    public override Task<ProtoStatus> UpdateCredential(UpdateCredentialRequest request, ServerCallContext context)
    {
        var caller = Caller(context);
        // Only the configured superusers skip the old-password check; the admin role (even root) does not.
        var superuser = state.IsSuperUser(caller);
        if (caller != request.Username && !state.IsAdmin(caller))
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, $"PrivilegeUpdateUser: permission deny to {caller} in the `default` database"));
        }

        if (DecodePassword(request.NewPassword) is not { } newPassword || DecodePassword(request.OldPassword) is not { } oldPassword)
        {
            return Failure(CodeParameterInvalid, "decode password fail");
        }

        if (!ValidPassword(newPassword))
        {
            return Failure(CodeParameterInvalid, "invalid parameter[expected=valid password][actual=invalid password length]");
        }

        if (state.PasswordOf(request.Username) is not { } current)
        {
            return Failure(CodeUnexpected, $"user not found[user={request.Username}]");
        }

        if (!superuser && current != oldPassword)
        {
            return Failure(CodeNotAuthenticated, $"old password not correct for {request.Username}: not authenticated");
        }

        state.SetPassword(request.Username, newPassword);
        return Task.FromResult(Success());
    }

    public override Task<ProtoStatus> DeleteCredential(DeleteCredentialRequest request, ServerCallContext context)
    {
        if (state.IsUndeletable(request.Username))
        {
            return Failure(CodeNotPermitted, $"{request.Username} user cannot be deleted: operation not permitted");
        }

        RequireAdmin(context, "DropOwnership");
        state.DeleteUser(request.Username);
        return Task.FromResult(Success());
    }

    public override Task<ListCredUsersResponse> ListCredUsers(ListCredUsersRequest request, ServerCallContext context)
    {
        var response = new ListCredUsersResponse { Status = Success() };
        response.Usernames.AddRange(state.UserNames());
        return Task.FromResult(response);
    }

    public override Task<SelectUserResponse> SelectUser(SelectUserRequest request, ServerCallContext context)
    {
        var response = new SelectUserResponse { Status = Success() };
        foreach (var (name, roles) in state.Users(request.User?.Name is { Length: > 0 } only ? only : null))
        {
            var result = new UserResult { User = new UserEntity { Name = name } };
            if (request.IncludeRoleInfo)
            {
                result.Roles.AddRange(roles.Select(r => new RoleEntity { Name = r }));
            }

            response.Results.Add(result);
        }

        return Task.FromResult(response);
    }

    public override Task<ProtoStatus> OperateUserRole(OperateUserRoleRequest request, ServerCallContext context)
    {
        RequireAdmin(context, "ManageOwnership");
        if (!state.RoleExists(request.RoleName))
        {
            return Failure(CodeUnexpected, "not found the role, maybe the role isn't existed or internal system error");
        }

        if (!state.HasUser(request.Username))
        {
            return Failure(CodeUnexpected, "not found the user, maybe the user isn't existed or internal system error");
        }

        state.SetRole(request.Username, request.RoleName, request.Type == OperateUserRoleType.AddUserToRole);
        return Task.FromResult(Success());
    }

    private static string DatabaseOf(ServerCallContext context) =>
        context.RequestHeaders.GetValue("dbname") is { Length: > 0 } database ? database : "default";

    private static string Caller(ServerCallContext context) => (string)context.UserState[MilvusAuthInterceptor.UserKey];

    private void RequireAdmin(ServerCallContext context, string privilege)
    {
        var caller = Caller(context);
        if (!state.IsAdmin(caller))
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, $"Privilege{privilege}: permission deny to {caller} in the `default` database"));
        }
    }

    private static string? DecodePassword(string base64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static bool ValidPassword(string password) => password.Length is >= 6 and <= 256;

    private static ProtoStatus Success() => new();

    private static ProtoStatus DatabaseNotFound(string database) =>
        new() { ErrorCode = UnexpectedError, Code = CodeDatabaseNotFound, Reason = $"database not found[database={database}]" };

    private static Task<ProtoStatus> Failure(int code, string reason) =>
        Task.FromResult(new ProtoStatus { ErrorCode = UnexpectedError, Code = code, Reason = reason });

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,31}$")]
    private static partial Regex ValidUserName();
}
