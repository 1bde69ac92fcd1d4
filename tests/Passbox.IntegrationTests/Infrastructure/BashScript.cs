using System.Diagnostics;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>Runs one of the repository's <c>hack/</c> scripts the way the fixtures need it: no input, output kept for the failure.</summary>
internal static class BashScript
{
    /// <summary>
    /// Runs <c>bash script arguments...</c> and throws with the script's output when it exits non-zero.
    /// <paramref name="name"/> is how the failure names the script; <paramref name="hint"/> follows the exit code.
    /// Standard input is closed at once, so a script that asks for input fails instead of hanging the run.
    /// </summary>
    public static async Task RunAsync(string script, IReadOnlyList<string> arguments, TimeSpan timeout, string name, string hint = "")
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start bash.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} {arguments[0]} failed (exit {process.ExitCode}){hint}:\n{await stdout}{await stderr}");
        }
    }
}
