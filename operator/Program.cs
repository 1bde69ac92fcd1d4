using Passbox.Operator.Hosting;

// A start that fails (a kubeconfig that cannot be read, a port already taken) used to leave the exception unhandled: the
// runtime printed it a second time and aborted (SIGABRT, exit 134, a core dump where enabled) instead of exiting with
// an error. The host logs the exception itself; these lines say it in one, and tell a failed start from a later stop.
Microsoft.AspNetCore.Builder.WebApplication app;
try
{
    app = PassboxOperator.Build(args);
    await app.StartAsync();
}
catch (Exception e)
{
    await Console.Error.WriteLineAsync($"passbox-operator: cannot start: {e.Message}");
    return 1;
}

try
{
    await app.WaitForShutdownAsync();
}
catch (Exception e)
{
    await Console.Error.WriteLineAsync($"passbox-operator: stopped by an error: {e.Message}");
    return 1;
}
finally
{
    await app.DisposeAsync();
}

// 1 after a lost leader lease (ControllerManager sets it), else 0.
return Environment.ExitCode;
