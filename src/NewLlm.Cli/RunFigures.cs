namespace NewLlm.Cli;

/// <summary>What newllm train says at the end of a run, for a person and for <c>newllm compare</c>: training throughput and peak resident memory.</summary>
internal static class RunFigures
{
    /// <summary>The line's start, which <c>newllm compare</c> looks for in a run's output.</summary>
    public const string Prefix = "Throughput: ";

    /// <summary>
    /// <c>Throughput: 12,345 training tokens/s; peak resident memory 456 MB</c>: the epochs' target tokens (the corpus's
    /// tokens less one per row, per epoch) over their training seconds, and this process's peak resident set.
    /// </summary>
    public static string Line(TrainingResult result, TokenizedCorpus train)
    {
        double seconds = result.History.Sum(r => r.TrainSeconds);
        double tokens = (double)(train.TotalTokenCount - train.Count) * result.History.Count;
        string rate = seconds > 0 ? (tokens / seconds).ToString("N0", CultureInfo.InvariantCulture) : "n/a";
        return string.Create(CultureInfo.InvariantCulture, $"{Prefix}{rate} training tokens/s; peak resident memory {PeakResidentBytes() / (1024.0 * 1024.0):N0} MB");
    }

    /// <summary>This process's peak resident set: VmHWM on Linux, the peak working set elsewhere.</summary>
    public static long PeakResidentBytes()
    {
        try
        {
            string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (line is not null)
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    /// <summary>Reads a <see cref="Line"/> back: tokens per second (NaN when unknown) and peak resident megabytes; null when the text has none.</summary>
    public static (double TokensPerSecond, double PeakMegabytes)? Parse(string output)
    {
        string? line = output.Split('\n').LastOrDefault(l => l.StartsWith(Prefix, StringComparison.Ordinal))?.Trim();
        if (line is null)
        {
            return null;
        }

        string[] parts = line[Prefix.Length..].Split(' ');
        double rate = double.TryParse(parts[0], NumberStyles.Number, CultureInfo.InvariantCulture, out double r) ? r : double.NaN;
        double memory = double.Parse(parts[^2], NumberStyles.Number, CultureInfo.InvariantCulture);
        return (rate, memory);
    }
}
