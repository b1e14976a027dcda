namespace NewLlm.Cli;

/// <summary>One model's line of <c>newllm compare</c>'s table, read from its run's final checkpoint and output.</summary>
internal sealed record ComparisonRow(string Name, string ModelType, long Parameters, IReadOnlyList<EpochRecord> History, double TokensPerSecond, double PeakMegabytes)
{
    /// <summary>The row of the run in <paramref name="folder"/> (its one <c>*_final.pt</c>) with the figures its output printed.</summary>
    public static ComparisonRow Read(string name, string folder, (double TokensPerSecond, double PeakMegabytes)? figures)
    {
        string final = Directory.GetFiles(folder, "*_final.pt").Order(StringComparer.Ordinal).Single();
        CheckpointManifest manifest = CheckpointFile.ReadManifest(final);
        using LanguageModel model = CheckpointFile.LoadModel(final);
        return new ComparisonRow(name, manifest.ModelType, model.ParameterCount, manifest.State.History, figures?.TokensPerSecond ?? double.NaN, figures?.PeakMegabytes ?? double.NaN);
    }

    /// <summary>The table: a row per model, the last epoch's and the best validation figures.</summary>
    public static string Markdown(string title, IReadOnlyList<ComparisonRow> rows)
    {
        static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "n/a";
        var lines = new List<string>
        {
            $"### {title}",
            string.Empty,
            "| model | parameters | validation PPL (last epoch) | best validation PPL | validation accuracy (last epoch) | training tokens/s | peak training RSS (MB) | wall-clock (s) |",
            "|---|---|---|---|---|---|---|---|",
        };
        foreach (ComparisonRow row in rows)
        {
            EvaluationMetrics? last = row.History.LastOrDefault(r => r.Validation is not null)?.Validation;
            double best = row.History.Where(r => r.Validation is not null).Select(r => r.Validation!.Perplexity).DefaultIfEmpty(double.NaN).Min();
            lines.Add($"| {row.Name} (`{row.ModelType}`) | {row.Parameters.ToString("N0", CultureInfo.InvariantCulture)} | {F(last?.Perplexity ?? double.NaN, "F2")} | {F(best, "F2")} | {F((last?.Accuracy ?? double.NaN) * 100, "F1")}% | {F(row.TokensPerSecond, "N0")} | {F(row.PeakMegabytes, "N0")} | {F(row.History.Sum(r => r.EpochSeconds), "F1")} |");
        }

        return string.Join('\n', lines) + '\n';
    }
}
