using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace NewLlm.Samples.Tests;

/// <summary>A sample run as a child process, as a person runs it: its output (stdout and stderr as they came) and its exit code.</summary>
internal sealed class SampleProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly object _gate = new();

    private SampleProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The sample's built program (next to the sample project, for the configuration the tests were built in).</summary>
    private static string ProgramPath(string sample) => string.Format(
        System.Globalization.CultureInfo.InvariantCulture,
        typeof(SampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleProgram").Value!,
        sample);

    /// <summary>Stdout and stderr so far, interleaved as they arrived.</summary>
    private string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    private static SampleProcess Start(string sample, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ProgramPath(sample));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = start };
        var sampleProcess = new SampleProcess(process);
        process.OutputDataReceived += (_, e) => sampleProcess.Append(e.Data);
        process.ErrorDataReceived += (_, e) => sampleProcess.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sampleProcess;
    }

    /// <summary>Runs the sample to its end.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string sample, string workingDirectory, params string[] arguments)
    {
        using SampleProcess process = Start(sample, workingDirectory, arguments);
        int code = await process.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, process.Output);
    }

    private async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The sample did not end within {timeout}. Its output:\n{Output}");
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
