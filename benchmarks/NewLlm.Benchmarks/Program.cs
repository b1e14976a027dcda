using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using NewLlm;
using NewLlm.Benchmarks;
using TorchSharp;

// Training-step throughput and memory of the library's training path, the library's forward with the whole logits,
// the direct port, and the PyTorch reference, measured in the same run. Each implementation runs in a process of its
// own (this program with --child), so that its peak resident set is its own. One JSON line per implementation and
// configuration.
if (args is ["--help"] or ["-h"] or ["-?"])
{
    Console.WriteLine(BenchmarkSettings.Usage);
    return 0;
}

BenchmarkSettings settings;
try
{
    settings = BenchmarkSettings.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

if (settings.Child is string child)
{
    return child switch
    {
        "probe" => Probe(),
        "gemm-peak" => PeakHere(settings),
        GenerationBenchmark.ChildName => GenerationBenchmark.MeasureHere(settings),
        _ => MeasureHere(child, settings),
    };
}

// The machine first: every figure below is read beside it.
(int probeExit, string probeOutput, string probeError) = RunChild(["--child", "probe"], new() { ["ONEDNN_VERBOSE"] = "1", ["MKL_VERBOSE"] = "1" });
if (probeExit != 0)
{
    Console.Error.WriteLine($"The kernel probe failed ({probeError.Trim().Split('\n').LastOrDefault()}); the kernels in use are not reported.");
}

JsonObject machine = MachineDescription.Describe(probeExit == 0 ? probeOutput : null);
Console.WriteLine(new JsonObject { ["machine"] = machine }.ToJsonString());
string machineTag = MachineDescription.Tag(machine);

if (settings.Generation)
{
    return GenerationBenchmark.Run(settings, RunChild);
}

if (settings.Memory)
{
    return MemoryEstimateCheck.Run(settings, (s, layers, batch) => MeasureInChild("newllm-torchsharp", batch, layers, s, out string why) ?? throw new InvalidOperationException(why));
}

ReferenceRunner? reference = null;
if (!settings.SkipReference)
{
    reference = ReferenceRunner.TryCreate(out string why);
    if (reference is null)
    {
        Console.Error.WriteLine($"The PyTorch reference is not run: {why}.");
    }
}

string[] implementations = BenchmarkSettings.Implementations
    .Where(i => !(settings.SkipDirect && i == "direct-port-torchsharp") && !(settings.SkipFullLogits && i == "newllm-full-logits") && !(settings.SkipBFloat16 && i == "newllm-bf16"))
    .ToArray();
foreach (int batch in settings.Batches)
{
    foreach (int layers in settings.Layers)
    {
        JsonElement? peak = null;
        if (!settings.SkipPeak)
        {
            peak = MeasureInChild("gemm-peak", batch, layers, settings, out string peakWhy);
            if (peak is null)
            {
                Console.Error.WriteLine($"The GEMM peak was not measured: {peakWhy}.");
            }
        }

        var runs = implementations.ToDictionary(i => i, _ => new List<JsonElement>());
        var referenceRuns = new List<JsonElement>();
        for (int repeat = 0; repeat < settings.Repeats; repeat++)
        {
            foreach (string implementation in implementations)
            {
                if (MeasureInChild(implementation, batch, layers, settings, out string why) is { } line)
                {
                    runs[implementation].Add(line);
                }
                else
                {
                    Console.Error.WriteLine($"{implementation} failed: {why}.");
                }
            }

            if (reference is not null)
            {
                if (reference.Bench(batch, settings.Seq, layers, settings.Vocab, settings.Steps, settings.Threads, out string referenceWhy) is { } json)
                {
                    referenceRuns.Add(json);
                }
                else
                {
                    Console.Error.WriteLine($"The PyTorch reference failed: {referenceWhy}.");
                }
            }
        }

        long tokens = (long)batch * (settings.Seq - 1);
        JsonObject Line(string implementation, List<JsonElement> measured)
        {
            List<double> seconds = measured.Select(m => m.GetProperty("sec_per_step").GetDouble()).ToList();
            double median = Median(seconds);
            var line = new JsonObject
            {
                ["implementation"] = implementation,
                ["machine"] = machineTag,
                ["batch"] = batch,
                ["seq"] = settings.Seq,
                ["layers"] = layers,
                ["vocab"] = settings.Vocab,
                ["threads"] = settings.Threads,
                ["dropout"] = settings.Dropout,
                ["steps"] = settings.Steps,
                ["sec_per_step"] = Math.Round(median, 4),
                ["train_tokens_per_sec"] = Math.Round(tokens / median, 1),
                ["peak_rss_mb"] = Math.Round(Median(measured.Select(m => m.GetProperty("peak_rss_mb").GetDouble()).ToList())),
            };
            if (measured[0].TryGetProperty("minor_faults_per_step", out _))
            {
                line["minor_faults_per_step"] = Math.Round(Median(measured.Select(m => m.GetProperty("minor_faults_per_step").GetDouble()).ToList()));
            }

            if (measured[0].TryGetProperty("torch", out JsonElement torchVersion))
            {
                line["torch"] = torchVersion.GetString();
            }

            // The library's step FLOPs per second (for the port and the reference, which execute more, the same work's
            // rate), and for the library's steps their share of this machine's GEMM peak in the step's own dtype.
            var model = new NewLlmOptions { NumLayers = layers, ContextDim = settings.Context, VocabSize = settings.Vocab };
            double achieved = GemmPeak.StepFlops(model, tokens) / median / 1e9;
            line["achieved_gflops"] = Math.Round(achieved, 1);
            string dtype = implementation == "newllm-bf16" ? "bf16" : "fp32";
            if (implementation.StartsWith("newllm-", StringComparison.Ordinal) && peak is { } p && p.TryGetProperty(dtype, out JsonElement ofDtype))
            {
                line["share_of_peak"] = Math.Round(achieved / ofDtype.GetProperty("peak_gflops").GetDouble(), 3);
                line["peak_dtype"] = dtype;
            }

            if (measured.Count > 1)
            {
                line["runs_sec_per_step"] = new JsonArray(seconds.Select(r => (JsonNode)Math.Round(r, 4)).ToArray());
            }

            return line;
        }

        var lines = runs.Where(r => r.Value.Count > 0).ToDictionary(r => r.Key, r => Line(r.Key, r.Value));
        if (referenceRuns.Count > 0)
        {
            lines["pytorch-reference"] = Line("pytorch-reference", referenceRuns);
        }

        foreach (string measuredOne in new[] { "newllm-torchsharp", "newllm-bf16" })
        {
            if (lines.TryGetValue(measuredOne, out JsonObject? ours))
            {
                double oursSeconds = ours["sec_per_step"]!.GetValue<double>();
                foreach ((string other, string key) in new[]
                {
                    ("pytorch-reference", "speedup_vs_reference"), ("newllm-torchsharp", "speedup_vs_fp32"), ("direct-port-torchsharp", "speedup_vs_direct_port"), ("newllm-full-logits", "speedup_vs_full_logits"),
                })
                {
                    if (other != measuredOne && lines.TryGetValue(other, out JsonObject? line))
                    {
                        ours[key] = Math.Round(line["sec_per_step"]!.GetValue<double>() / oursSeconds, 2);
                    }
                }
            }
        }

        if (peak is { } measuredPeak)
        {
            Console.WriteLine(new JsonObject { ["gemm_peak"] = JsonNode.Parse(measuredPeak.GetRawText()), ["batch"] = batch, ["layers"] = layers, ["step_gflop"] = Math.Round(GemmPeak.StepFlops(new NewLlmOptions { NumLayers = layers, ContextDim = settings.Context, VocabSize = settings.Vocab }, tokens) / 1e9, 1) }.ToJsonString());
        }

        foreach (JsonObject line in lines.Values)
        {
            Console.WriteLine(line.ToJsonString());
        }
    }
}

return 0;

// One implementation measured in this process: its JSON line, with this process's peak resident set.
static int MeasureHere(string implementation, BenchmarkSettings settings)
{
    TorchBackend.EnsureLoaded();
    torch.set_num_threads(settings.Threads);
    torch.manual_seed(1);
    long baseline = Environment.WorkingSet; // the process with libtorch loaded, before the model: what the trainer's estimate leaves out
    var options = new NewLlmOptions { NumLayers = settings.Layers[0], ContextDim = settings.Context, VocabSize = settings.Vocab, Dropout = settings.Dropout };
    using var model = new NewLlmModel(options);
    TrainingStepBenchmark.StepTimes times = TrainingStepBenchmark.Measure(model, TrainingStepBenchmark.LossOf(implementation, model, settings.AllowSlowBFloat16), settings.Batches[0], settings.Seq, settings.Steps);
    var line = new JsonObject
    {
        ["sec_per_step"] = times.SecondsPerStep,
        ["minor_faults_per_step"] = times.MinorFaultsPerStep,
        ["phases_sec"] = new JsonObject { ["forward"] = times.Forward, ["backward"] = times.Backward, ["clip"] = times.Clip, ["optimizer"] = times.Optimizer },
        ["fastest_sec"] = new JsonObject { ["step"] = times.FastestStep, ["forward"] = times.FastestForward, ["backward"] = times.FastestBackward },
        ["cpu_sec_per_step"] = times.CpuSecondsPerStep,
        ["least_cpu_sec"] = times.LeastCpuSeconds,
        ["peak_rss_mb"] = ProcessUsage.PeakResidentBytes / 1e6,
        ["baseline_rss_mb"] = baseline / 1e6,
    };
    Console.WriteLine(line.ToJsonString());
    return 0;
}

// The kernel probe's work (see MachineDescription.Probe).
static int Probe()
{
    TorchBackend.EnsureLoaded();
    MachineDescription.Probe();
    return 0;
}

// The GEMM peak at one configuration's shapes, measured in this process (so under its instruction-set limits).
static int PeakHere(BenchmarkSettings settings)
{
    TorchBackend.EnsureLoaded();
    torch.set_num_threads(settings.Threads);
    var options = new NewLlmOptions { NumLayers = settings.Layers[0], ContextDim = settings.Context, VocabSize = settings.Vocab };
    Console.WriteLine(GemmPeak.Measure(options, settings.Batches[0], settings.Seq, settings.Threads, bfloat16: !settings.SkipBFloat16).ToJsonString());
    return 0;
}

// Runs this program with the arguments (and extra environment variables); its exit code, output and error output.
static (int ExitCode, string Output, string Error) RunChild(IEnumerable<string> arguments, Dictionary<string, string>? environment = null)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
    {
        start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
    }

    foreach (string argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    foreach ((string name, string value) in environment ?? [])
    {
        start.Environment[name] = value;
    }

    using Process process = Process.Start(start) ?? throw new InvalidOperationException("The benchmark could not start itself.");
    Task<string> error = process.StandardError.ReadToEndAsync();
    string output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    return (process.ExitCode, output, error.Result);
}

// Runs this program with --child for one implementation (or the GEMM peak) and returns the line it printed.
static JsonElement? MeasureInChild(string implementation, int batch, int layers, BenchmarkSettings settings, out string reason)
{
    (int exitCode, string output, string error) = RunChild(settings.ChildArguments(implementation, batch, layers));
    string? json = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
    if (exitCode != 0 || json is null)
    {
        reason = string.Create(CultureInfo.InvariantCulture, $"exit code {exitCode}: {error.Trim().Split('\n').LastOrDefault()}");
        return null;
    }

    reason = string.Empty;
    using JsonDocument document = JsonDocument.Parse(json);
    return document.RootElement.Clone();
}

static double Median(List<double> values)
{
    var sorted = values.OrderBy(v => v).ToList();
    int n = sorted.Count;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
}
