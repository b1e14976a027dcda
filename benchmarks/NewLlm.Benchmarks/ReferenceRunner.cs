using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace NewLlm.Benchmarks;

/// <summary>
/// Runs the PyTorch reference's <c>bench</c> command (<c>../shared/reference/newllm_reference.py</c> next to the
/// directory that holds <c>NewLlm.sln</c>) with <c>OMP_NUM_THREADS</c> = threads and <c>OPENBLAS_NUM_THREADS=1</c>.
/// </summary>
internal sealed class ReferenceRunner
{
    private readonly string _python;
    private readonly string _script;

    private ReferenceRunner(string python, string script)
    {
        _python = python;
        _script = script;
    }

    /// <summary>Finds the script and a Python with torch; null (and a reason) when either is absent.</summary>
    public static ReferenceRunner? TryCreate(out string reason)
    {
        string? root = FindRepositoryRoot(Environment.CurrentDirectory) ?? FindRepositoryRoot(AppContext.BaseDirectory);
        if (root is null)
        {
            reason = "NewLlm.sln not found above the current or the program's directory, so ../shared/reference cannot be located";
            return null;
        }

        string script = Path.GetFullPath(Path.Combine(root, "..", "shared", "reference", "newllm_reference.py"));
        if (!File.Exists(script))
        {
            reason = $"{script} does not exist";
            return null;
        }

        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        try
        {
            (int code, string output, string error) = Run(python, new[] { "-c", "import torch; print(torch.__version__)" }, threads: 1);
            if (code != 0)
            {
                reason = $"{python} cannot import torch ({LastLine(error)}); 'apt-get install python3-torch libopenblas0-pthread' provides it";
                return null;
            }
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            reason = $"{python} cannot be started ({ex.Message})";
            return null;
        }

        reason = string.Empty;
        return new ReferenceRunner(python, script);
    }

    /// <summary>Runs the reference bench and returns its JSON line, or null and the reason when it fails.</summary>
    public JsonElement? Bench(int batch, int seq, int layers, int vocab, int steps, int threads, out string reason)
    {
        string[] args =
        {
            "-c", PeakMemoryWrapper, _script, "bench", "--batch", I(batch), "--seq", I(seq), "--layers", I(layers), "--vocab", I(vocab), "--steps", I(steps), "--threads", I(threads),
        };
        (int code, string output, string error) = Run(_python, args, threads);
        if (code != 0)
        {
            reason = $"the reference exited with {code}: {LastLine(error)}";
            return null;
        }

        string[] lines = output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('{')).ToArray();
        string? bench = lines.LastOrDefault(l => l.Contains("\"sec_per_step\"", StringComparison.Ordinal));
        string? memory = lines.LastOrDefault(l => l.Contains("\"peak_rss_mb\"", StringComparison.Ordinal));
        if (bench is null || memory is null)
        {
            reason = "the reference printed no JSON line";
            return null;
        }

        reason = string.Empty;
        var merged = System.Text.Json.Nodes.JsonNode.Parse(bench)!.AsObject();
        merged["peak_rss_mb"] = System.Text.Json.Nodes.JsonNode.Parse(memory)!["peak_rss_mb"]!.GetValue<double>();
        using JsonDocument doc = JsonDocument.Parse(merged.ToJsonString());
        return doc.RootElement.Clone();
    }

    /// <summary>Runs the script given after <c>-c</c> as <c>__main__</c>, then prints the process's peak resident set (Linux's <c>ru_maxrss</c> is in KiB) as a JSON line.</summary>
    private const string PeakMemoryWrapper =
        "import json, resource, runpy, sys\n" +
        "sys.argv = sys.argv[1:]\n" +
        "try:\n" +
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n" +
        "finally:\n" +
        "    print(json.dumps({'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6}))\n";

    private static (int Code, string Output, string Error) Run(string file, IEnumerable<string> args, int threads)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["OMP_NUM_THREADS"] = I(threads);
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"{file} could not be started.");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    private static string? FindRepositoryRoot(string start)
    {
        for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NewLlm.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static string LastLine(string text) => text.Trim().Split('\n').LastOrDefault()?.Trim() ?? string.Empty;

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
