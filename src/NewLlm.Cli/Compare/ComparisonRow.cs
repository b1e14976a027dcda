namespace NewLlm.Cli;

/// <summary>One model's line of <c>newllm compare</c>'s table, read from its run's final checkpoint and output, with its generation measured.</summary>
internal sealed record ComparisonRow(
    string Name, string ModelType, long Parameters, IReadOnlyList<EpochRecord> History, double TokensPerSecond, double PeakMegabytes, double[] GenerationTokensPerSecond, long[] StateBytes)
{
    /// <summary>Batch sizes at which generation speed is measured.</summary>
    public static readonly int[] GenerationBatches = [1, 16];

    /// <summary>Lengths after which the generation state's bytes are measured.</summary>
    public static readonly int[] StateLengths = [128, 1024, 8192];

    // Tokens per sequence of the speed measurement, and its timed rounds (the median is reported).
    private const int SpeedLength = 128;
    private const int SpeedRounds = 5;

    /// <summary>
    /// The row of the run in <paramref name="folder"/> (its one <c>*_final.pt</c>) with the figures its output printed,
    /// and its generation measured (<see cref="DecodingMeasurement"/>): tokens/s at <see cref="GenerationBatches"/> and the
    /// decoding state's bytes after <see cref="StateLengths"/> tokens. A Transformer's positions end at the length it was
    /// trained for, so its generation is measured on a model of the same shape whose positions reach the longest length
    /// (weights change neither figure).
    /// </summary>
    public static ComparisonRow Read(string name, string folder, (double TokensPerSecond, double PeakMegabytes)? figures)
    {
        string final = Directory.GetFiles(folder, "*_final.pt").Order(StringComparer.Ordinal).Single();
        CheckpointManifest manifest = CheckpointFile.ReadManifest(final);
        using LanguageModel model = CheckpointFile.LoadModel(final);
        using LanguageModel? longer = model is TransformerBaselineModel baseline ? new TransformerBaselineModel(new TransformerBaselineOptions
        {
            VocabSize = baseline.Options.VocabSize, EmbedDim = baseline.Options.EmbedDim, NumHeads = baseline.Options.NumHeads, HiddenDim = baseline.Options.HiddenDim,
            NumLayers = baseline.Options.NumLayers, MaxSeqLength = Math.Max(baseline.Options.MaxSeqLength, StateLengths.Max()), Dropout = 0, Seed = 1,
        }) : null;
        var decoder = (IIncrementalDecoder)(longer ?? model);

        // One libtorch thread, as the benchmark's generation mode: a token's products are small, and with two threads
        // spinning on the 2-core machine batch 16 moved between 9,000 and 20,000 tokens/s from run to run (one thread:
        // 21,000-22,800 for New-LLM, in the same alternated runs).
        int threads = TorchSharp.torch.get_num_threads();
        TorchSharp.torch.set_num_threads(1);
        double[] speeds;
        try
        {
            speeds = GenerationBatches.Select(batch => DecodingMeasurement.TokensPerSecond(decoder, batch, SpeedLength, SpeedRounds)).ToArray();
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }

        long[] bytes = StateLengths.Select(length =>
        {
            using IDecodingState state = DecodingMeasurement.DecodeGreedily(decoder, 1, length);
            return state.SizeInBytes;
        }).ToArray();
        return new ComparisonRow(name, manifest.ModelType, model.ParameterCount, manifest.State.History, figures?.TokensPerSecond ?? double.NaN, figures?.PeakMegabytes ?? double.NaN, speeds, bytes);
    }

    /// <summary>The table: a row per model, the last epoch's and the best validation figures.</summary>
    public static string Markdown(string title, IReadOnlyList<ComparisonRow> rows)
    {
        static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";
        var lines = new List<string>
        {
            $"### {title}",
            string.Empty,
            "| model | parameters | validation PPL (last epoch) | best validation PPL | validation accuracy (last epoch) | training tokens/s | peak training RSS (MB) | wall-clock (s) | generation tokens/s, batch 1 / 16 | generation state at 128 / 1,024 / 8,192 tokens (bytes per token) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        };
        foreach (ComparisonRow row in rows)
        {
            EvaluationMetrics? last = row.History.LastOrDefault(r => r.Validation is not null)?.Validation;
            double best = row.History.Where(r => r.Validation is not null).Select(r => r.Validation!.Perplexity).DefaultIfEmpty(double.NaN).Min();
            lines.Add($"| {row.Name} (`{row.ModelType}`) | {row.Parameters.ToString("N0", CultureInfo.InvariantCulture)} | {F(last?.Perplexity ?? double.NaN, "F2")} | {F(best, "F2")} | {F((last?.Accuracy ?? double.NaN) * 100, "F1")}% | {F(row.TokensPerSecond, "N0")} | {F(row.PeakMegabytes, "N0")} | {F(row.History.Sum(r => r.EpochSeconds), "F1")} | {string.Join(" / ", row.GenerationTokensPerSecond.Select(v => F(v, "N0")))} | {string.Join(" / ", row.StateBytes.Select((b, i) => $"{Size(b)} ({F((double)b / StateLengths[i], "N1")})"))} |");
        }

        lines.Add(string.Empty);
        lines.Add(FormattableString.Invariant($"Generation is greedy from a one-token prompt, measured in this process after training: speed over {SpeedLength} tokens per sequence on one CPU thread (the median of {SpeedRounds} timed generations after a warm-up), the state's tensor bytes (`IDecodingState.SizeInBytes`) after each length at batch 1. A Transformer is measured on a model of its shape with positions up to {StateLengths.Max():N0} (weights change neither figure)."));
        return string.Join('\n', lines) + '\n';
    }

    private static string Size(long bytes) => bytes >= 1 << 20
        ? FormattableString.Invariant($"{bytes / (double)(1 << 20):F1} MiB")
        : bytes >= 1 << 10 ? FormattableString.Invariant($"{bytes / 1024.0:F1} KiB") : FormattableString.Invariant($"{bytes} B");
}
