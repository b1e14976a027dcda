using System.Diagnostics;
using System.Text;

namespace NewLlm.Tests;

/// <summary>A built .NET program (the newllm tool, a sample) run as a child process, as a person runs it: its output as it comes, signals sent to it, its exit code.</summary>
internal sealed class ChildProgram : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();

    private ChildProgram(Process process)
    {
        _process = process;
    }

    /// <summary>Stdout and stderr so far, interleaved as they arrived.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public int Id => _process.Id;

    /// <summary>Starts <c>dotnet <paramref name="program"/></c> with the arguments.</summary>
    public static ChildProgram Start(string program, string workingDirectory, params string[] arguments) => Start(program, workingDirectory, openInput: false, arguments);

    /// <summary>
    /// Starts <c>dotnet <paramref name="program"/></c> with the arguments and its standard input a pipe that stays open
    /// and empty, as a terminal where nobody types: a program that reads it waits.
    /// </summary>
    public static ChildProgram StartWaitingForInput(string program, string workingDirectory, params string[] arguments) => Start(program, workingDirectory, openInput: true, arguments);

    private static ChildProgram Start(string program, string workingDirectory, bool openInput, string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = openInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(program);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = start };
        var child = new ChildProgram(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs the program to its end.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, string workingDirectory, params string[] arguments)
    {
        using ChildProgram process = Start(program, workingDirectory, arguments);
        int code = await process.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, process.Output);
    }

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited || watch.Elapsed > timeout)
            {
                throw new TimeoutException($"The program did not print '{text}' (exited: {_process.HasExited}). Its output:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends a POSIX signal (INT, TERM) as a person's Ctrl-C or a service manager's stop does.</summary>
    public void Signal(string name)
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
    }

    /// <summary>
    /// Sends a POSIX signal twice, a tenth of a second apart, from one shell: what GNU <c>timeout</c> and CI runners do
    /// when they signal the process and then its process group (apart enough that the kernel does not merge the two).
    /// </summary>
    public void SignalTwice(string name)
    {
        string pid = _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using Process kill = Process.Start(new ProcessStartInfo("sh") { ArgumentList = { "-c", $"kill -{name} {pid}; sleep 0.1; kill -{name} {pid}" }, UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The program did not end within {timeout}. Its output:\n{Output}");
        }

        _process.WaitForExit(); // the rest of the redirected output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_gate)
            {
                _output.AppendLine(line);
            }
        }
    }
}
