using Passbox.Operator.Hosting;

try
{
    await PassboxOperator.Build(args).RunAsync();
}
catch (Exception e)
{
    // A start that fails (a kubeconfig that cannot be read, a port already taken) used to leave the exception unhandled:
    // the runtime printed it a second time and aborted (SIGABRT, exit 134, a core dump where enabled) instead of
    // exiting with an error. The host has logged the exception itself when its start failed; this line says it in one.
    await Console.Error.WriteLineAsync($"passbox-operator: cannot start: {e.Message}");
    return 1;
}

// 1 after a lost leader lease (ControllerManager sets it), else 0.
return Environment.ExitCode;
