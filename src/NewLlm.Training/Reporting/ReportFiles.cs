namespace NewLlm.Training;

/// <summary>Names of the report files a run writes under its output directory.</summary>
public static class ReportFiles
{
    /// <summary><c>{name}_progress.json</c>.</summary>
    public static string ProgressJson(TrainerOptions options) => Under(options, $"{options.ModelName}_progress.json");

    /// <summary><c>{name}_metrics.csv</c>.</summary>
    public static string MetricsCsv(TrainerOptions options) => Under(options, $"{options.ModelName}_metrics.csv");

    /// <summary><c>{name}_curves.png</c>.</summary>
    public static string CurvesPng(TrainerOptions options) => Under(options, $"{options.ModelName}_curves.png");

    /// <summary>The full path of <paramref name="file"/> under the run's output directory.</summary>
    /// <exception cref="InvalidOperationException">No output directory is set.</exception>
    internal static string Under(TrainerOptions options, string file)
    {
        ArgumentNullException.ThrowIfNull(options);
        string directory = options.OutputDirectory ?? throw new InvalidOperationException("TrainerOptions.OutputDirectory is not set.");
        return Path.GetFullPath(Path.Combine(directory, file));
    }
}
