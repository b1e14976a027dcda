using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Benchmarks;

/// <summary>
/// The generation mode (<c>--generation</c>): New-LLM against a parameter-matched Transformer baseline, both decoding
/// through <see cref="IIncrementalDecoder"/> (greedy, the inference function, float32). Each measurement runs in a child
/// process of its own: generation tokens per second at each batch size (<c>--batch</c>, default 1 and 16) over
/// <see cref="BenchmarkSettings.GenerationTokens"/> positions, and the memory of generating one sequence to each length
/// (<c>--length</c>, default 128, 1,024 and 8,192): the decoding state's tensor bytes read from the state
/// (<see cref="IDecodingState.SizeInBytes"/>) and the process's resident set after generating minus before (both
/// measured, neither computed).
/// </summary>
internal static class GenerationBenchmark
{
    /// <summary>The first GC generation's budget of a child (<c>DOTNET_GCgen0size</c>, hexadecimal bytes: 1 MiB).</summary>
    public const string SmallGeneration0 = "0x100000";

    /// <summary>Generations of <see cref="BenchmarkSettings.GenerationTokens"/> timed for a tokens-per-second figure (the median is reported).</summary>
    public const int SpeedRounds = 5;

    /// <summary>The child's name.</summary>
    public const string ChildName = "generation";

    /// <summary>New-LLM's options at the settings' layers (first), context and vocabulary; the rest the defaults.</summary>
    public static NewLlmOptions NewLlm(BenchmarkSettings settings) => new() { NumLayers = settings.Layers[0], ContextDim = settings.Context, VocabSize = settings.Vocab, Dropout = 0.1, Seed = 1 };

    /// <summary>
    /// The baseline at <see cref="BenchmarkSettings.BaselineDims"/> with <paramref name="positions"/> learned positions.
    /// Its dims are matched to New-LLM's parameter count with the training length's positions (<see cref="BenchmarkSettings.Seq"/>);
    /// a longer position table, for generating further, adds parameters but no state.
    /// </summary>
    public static TransformerBaselineOptions Baseline(BenchmarkSettings settings, int positions)
    {
        (int embed, int hidden, int layers, int heads) = settings.BaselineDims;
        return new() { VocabSize = settings.Vocab, EmbedDim = embed, HiddenDim = hidden, NumLayers = layers, NumHeads = heads, MaxSeqLength = positions, Dropout = 0.1, Seed = 1 };
    }

    /// <summary>The parent's work: the machine and both models' sizes, then every child's line, then a Markdown table.</summary>
    public static int Run(BenchmarkSettings settings, Func<IEnumerable<string>, Dictionary<string, string>?, (int ExitCode, string Output, string Error)> runChild)
    {
        TorchBackend.EnsureLoaded();
        (string cpu, string flags) = MachineDescription.Cpu();
        long newLlmParameters, baselineParameters;
        using (var newLlm = new NewLlmModel(NewLlm(settings)))
        using (var baseline = new TransformerBaselineModel(Baseline(settings, settings.Seq)))
        {
            (newLlmParameters, baselineParameters) = (newLlm.ParameterCount, baseline.ParameterCount);
        }

        double ratio = (double)baselineParameters / newLlmParameters;
        var models = new JsonObject
        {
            ["cpu"] = cpu,
            ["cpu_flags"] = flags,
            ["threads"] = settings.Threads,
            ["newllm"] = NewLlm(settings).ToString(),
            ["newllm_parameters"] = newLlmParameters,
            ["baseline"] = Baseline(settings, settings.Seq).ToString(),
            ["baseline_parameters"] = baselineParameters,
            ["baseline_over_newllm"] = Math.Round(ratio, 4),
        };
        Console.WriteLine(models.ToJsonString());
        if (Math.Abs(ratio - 1) > 0.05)
        {
            Console.Error.WriteLine($"Warning: the baseline has {baselineParameters:N0} parameters, {ratio:P1} of New-LLM's {newLlmParameters:N0}: not within 5% (choose --baseline EMBED,HIDDEN,LAYERS,HEADS).");
        }

        var speed = new List<JsonObject>();
        var memory = new List<JsonObject>();
        foreach (string model in new[] { "newllm", "transformer" })
        {
            foreach (int batch in settings.Batches)
            {
                if (Measure(settings, runChild, model, batch, settings.GenerationTokens, SpeedRounds) is { } line)
                {
                    speed.Add(line);
                }
            }

            foreach (int length in settings.GenerationLengths)
            {
                if (Measure(settings, runChild, model, 1, length, rounds: 1) is { } line)
                {
                    memory.Add(line);
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"CPU: {cpu}, {Environment.ProcessorCount} logical processors, {settings.Threads} threads; New-LLM {newLlmParameters:N0} parameters, baseline {baselineParameters:N0} ({ratio:P1})");
        Console.WriteLine();
        Console.WriteLine("| model | batch | positions | generation tokens/s | tokens per CPU second |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (JsonObject line in speed)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Name(line)} | {line["batch"]} | 1-{line["length"]} | {line["tokens_per_sec"]!.GetValue<double>():N0} | {line["tokens_per_cpu_sec"]!.GetValue<double>():N0} |"));
        }

        Console.WriteLine();
        Console.WriteLine("| model | sequence length | state bytes | state bytes per token | RSS after - before | tokens/s (batch 1) | tokens per CPU second |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (JsonObject line in memory)
        {
            long length = line["length"]!.GetValue<long>();
            long state = line["state_bytes"]!.GetValue<long>(), rss = line["rss_delta_bytes"]!.GetValue<long>();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Name(line)} | {length:N0} | {state:N0} | {(double)state / length:N1} | {rss / 1e6:N1} MB | {line["tokens_per_sec"]!.GetValue<double>():N0} | {line["tokens_per_cpu_sec"]!.GetValue<double>():N0} |"));
        }

        return 0;
    }

    /// <summary>
    /// The child's work: one model decodes greedily from a one-token prompt until each sequence has read
    /// <see cref="BenchmarkSettings.GenerationLengths"/>[0] tokens, at batch <see cref="BenchmarkSettings.Batches"/>[0],
    /// <see cref="BenchmarkSettings.GenerationRounds"/> times (each from a fresh state; the median time is reported); the
    /// resident set is read before the first and after the last, whose state is still held.
    /// </summary>
    public static int MeasureHere(BenchmarkSettings settings)
    {
        TorchBackend.EnsureLoaded();
        torch.set_num_threads(settings.Threads);
        int batch = settings.Batches[0], length = settings.GenerationLengths[0];
        using nn.Module<Tensor, Tensor> module = settings.GenerationModel == "transformer"
            ? new TransformerBaselineModel(Baseline(settings, Math.Max(length, settings.Seq)))
            : new NewLlmModel(NewLlm(settings));
        var model = (IIncrementalDecoder)module;
        module.train(); // decoding is the inference function in any mode; the mode the trainer leaves

        // Warm-up in a state of its own (libtorch's kernels and the allocator's first blocks), then the resident set before.
        using (IDecodingState warm = model.StartDecoding(batch))
        using (Tensor first = zeros(batch, 1, dtype: ScalarType.Int64))
        {
            for (int step = 0; step < 16; step++)
            {
                model.DecodeNext(first, warm).Dispose();
            }
        }

        GC.Collect();
        long before = CurrentResidentBytes();
        long peakBefore = ProcessUsage.PeakResidentBytes;
        var wall = new List<double>();
        var cpu = new List<double>();
        IDecodingState? state = null;
        for (int round = 0; round < settings.GenerationRounds; round++)
        {
            state?.Dispose();
            TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            state = DecodingMeasurement.DecodeGreedily(model, batch, length);
            wall.Add(clock.Elapsed.TotalSeconds);
            cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
        }

        using IDecodingState last = state!;
        double seconds = Median(wall), cpuSeconds = Median(cpu);
        long managedGarbage = GC.GetTotalMemory(forceFullCollection: false);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long after = CurrentResidentBytes();
        var line = new JsonObject
        {
            ["model"] = settings.GenerationModel,
            ["batch"] = batch,
            ["length"] = length,
            ["seconds"] = Math.Round(seconds, 3),
            ["tokens_per_sec"] = Math.Round(batch * (double)length / seconds, 1),
            ["cpu_seconds"] = Math.Round(cpuSeconds, 3),
            ["tokens_per_cpu_sec"] = Math.Round(batch * (double)length / cpuSeconds, 1),
            ["rounds"] = settings.GenerationRounds,
            ["state_bytes"] = last.SizeInBytes,
            ["rss_before_bytes"] = before,
            ["rss_after_bytes"] = after,
            ["rss_delta_bytes"] = after - before,
            ["peak_rss_delta_bytes"] = ProcessUsage.PeakResidentBytes - peakBefore,
            ["managed_heap_before_collect_bytes"] = managedGarbage,
            ["managed_heap_after_collect_bytes"] = GC.GetTotalMemory(forceFullCollection: false),
            ["parameters"] = module.parameters().Sum(p => p.numel()),
        };
        Console.WriteLine(line.ToJsonString());
        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static JsonObject? Measure(BenchmarkSettings settings, Func<IEnumerable<string>, Dictionary<string, string>?, (int ExitCode, string Output, string Error)> runChild, string model, int batch, int length, int rounds)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        // A small first GC generation, so that the resident set is not inflated by managed garbage the collector has
        // not yet been asked to reclaim (by default the budget is tens of MB, which a long generation fills).
        (int exitCode, string output, string error) = runChild([
            "--child", ChildName, "--model", model, "--batch", I(batch), "--length", I(length), "--rounds", I(rounds), "--layers", I(settings.Layers[0]), "--seq", I(settings.Seq),
            "--context", I(settings.Context), "--vocab", I(settings.Vocab), "--threads", I(settings.Threads), "--baseline", settings.BaselineText], new() { ["DOTNET_GCgen0size"] = SmallGeneration0 });
        string? json = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
        if (exitCode != 0 || json is null)
        {
            Console.Error.WriteLine($"{model} at batch {batch}, length {length} failed (exit code {exitCode}): {error.Trim().Split('\n').LastOrDefault()}");
            return null;
        }

        var line = JsonNode.Parse(json)!.AsObject();
        Console.WriteLine(line.ToJsonString());
        return line;
    }

    private static string Name(JsonObject line) => line["model"]!.GetValue<string>() == "transformer" ? "Transformer baseline" : "New-LLM";

    // The resident set now (VmRSS of /proc/self/status), in bytes; Environment.WorkingSet where that is not available.
    private static long CurrentResidentBytes()
    {
        try
        {
            string? rss = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            if (rss is not null)
            {
                return long.Parse(rss["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }

        return Environment.WorkingSet;
    }
}
