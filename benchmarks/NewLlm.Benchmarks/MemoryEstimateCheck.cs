using System.Text.Json;
using System.Text.Json.Nodes;
using NewLlm.Training;

namespace NewLlm.Benchmarks;

/// <summary>
/// The memory mode (<c>--memory</c>): for each (layers, context, seq, batch) configuration, a few float32 training steps
/// in a child process, and one JSON line with the trainer's estimate (<see cref="TrainingMemoryEstimate"/>) beside the
/// measured peak resident set (less the process's resident set before the model was built, which the estimate leaves
/// out) and the tokens per second.
/// </summary>
internal static class MemoryEstimateCheck
{
    /// <param name="settings">The configurations, vocabulary, steps and threads.</param>
    /// <param name="measure">Measures one configuration (settings with its seq and context; layers; batch) in a child process and returns its line.</param>
    public static int Run(BenchmarkSettings settings, Func<BenchmarkSettings, int, int, JsonElement> measure)
    {
        (string cpu, string flags) = MachineDescription.Cpu();
        Console.WriteLine($"CPU: {cpu} ({flags}), {Environment.ProcessorCount} logical processors, {settings.Threads} threads; vocab {settings.Vocab}, {settings.Steps} timed steps");
        foreach ((int layers, int context, int seq, int batch) in settings.MemoryConfigs)
        {
            var model = new NewLlmOptions { NumLayers = layers, ContextDim = context, VocabSize = settings.Vocab };
            TrainingMemoryEstimate estimate = TrainingMemoryEstimate.ForStep(model, batch, seq);
            JsonElement measured = measure(settings with { Seq = seq, Context = context }, layers, batch);
            double peak = measured.GetProperty("peak_rss_mb").GetDouble(), baseline = measured.GetProperty("baseline_rss_mb").GetDouble();
            double seconds = measured.GetProperty("sec_per_step").GetDouble();
            var line = new JsonObject
            {
                ["layers"] = layers,
                ["context"] = context,
                ["seq"] = seq,
                ["batch"] = batch,
                ["vocab"] = settings.Vocab,
                ["estimate_mb"] = Math.Round(estimate.TotalBytes / 1e6),
                ["estimate_activations_mb"] = Math.Round(estimate.ActivationBytes / 1e6),
                ["peak_rss_mb"] = Math.Round(peak),
                ["baseline_rss_mb"] = Math.Round(baseline),
                ["step_peak_mb"] = Math.Round(peak - baseline),
                ["estimate_over_step_peak"] = Math.Round(estimate.TotalBytes / 1e6 / (peak - baseline), 2),
                ["sec_per_step"] = Math.Round(seconds, 3),
                ["train_tokens_per_sec"] = Math.Round(batch * (seq - 1) / seconds, 1),
            };
            Console.WriteLine(line.ToJsonString());
        }

        return 0;
    }
}
