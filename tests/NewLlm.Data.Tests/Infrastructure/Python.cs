using System.Diagnostics;

namespace NewLlm.Data.Tests.Infrastructure;

/// <summary>Runs small Python snippets for reference comparisons.</summary>
internal static class Python
{
    /// <summary>The interpreter with PyTorch (Debian's python3-torch), or null.</summary>
    public static readonly Lazy<string?> WithTorch = new(() => Works("/usr/bin/python3", "import torch") ? "/usr/bin/python3" : null);

    /// <summary>Any Python 3 interpreter, or null.</summary>
    public static readonly Lazy<string?> Any = new(() =>
        new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => Works(p, "import json")));

    public static string Run(string interpreter, string script, params string[] args)
    {
        var start = new ProcessStartInfo(interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PYTHONIOENCODING"] = "utf-8";
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"python failed ({process.ExitCode}): {stderr.Result}");
        }

        return stdout;
    }

    private static bool Works(string interpreter, string code)
    {
        try
        {
            Run(interpreter, code);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
