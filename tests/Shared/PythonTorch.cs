using System.Diagnostics;
using Xunit;

namespace NewLlm.Tests;

/// <summary>
/// Debian's PyTorch (<c>/usr/bin/python3</c> with python3-torch), for the tests that round-trip through it: whether it is
/// there (tests skip with <see cref="SkipReason"/> when not) and a way to run a fixture script with it.
/// </summary>
internal static class PythonTorch
{
    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Null when <c>/usr/bin/python3</c> imports torch; otherwise why the PyTorch round trips are skipped.</summary>
    public static string? SkipReason => Missing.Value;

    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/> and asserts that it succeeds (its output in the message when not).</summary>
    public static void Run(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(script);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment["OPENBLAS_NUM_THREADS"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "python3 did not finish within 2 minutes");
        Assert.True(process.ExitCode == 0, $"python3 {Path.GetFileName(script)} {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{stdout}\n{stderr.Result}");
    }

    private static string? Probe()
    {
        const string skipped = "Skipped: /usr/bin/python3 -c \"import torch\" fails (apt-get install python3-torch to run the round trips through PyTorch)";
        if (!File.Exists("/usr/bin/python3"))
        {
            return skipped + "; there is no /usr/bin/python3.";
        }

        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3", ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true };
            using Process process = Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(TimeSpan.FromMinutes(1)) && process.ExitCode == 0 ? null : skipped + ".";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"{skipped} ({ex.Message}).";
        }
    }
}
