namespace NewLlm.Training.Reporting;

/// <summary>Names of the report files a run writes under its output directory.</summary>
public static class ReportFiles
{
    /// <summary><c>{name}_progress.json</c>.</summary>
    public static string ProgressJson(TrainerOptions options) => Under(options, $"{options.ModelName}_progress.json");

    /// <summary><c>{name}_metrics.csv</c>.</summary>
    public static string MetricsCsv(TrainerOptions options) => Under(options, $"{options.ModelName}_metrics.csv");

    /// <summary><c>{name}_curves.png</c>.</summary>
    public static string CurvesPng(TrainerOptions options) => Under(options, $"{options.ModelName}_curves.png");

    private static string Under(TrainerOptions options, string file)
    {
        ArgumentNullException.ThrowIfNull(options);
        string directory = options.OutputDirectory ?? throw new InvalidOperationException("TrainerOptions.OutputDirectory is not set.");
        return Path.GetFullPath(Path.Combine(directory, file));
    }

    /// <summary>Writes text to a temporary file next to <paramref name="path"/>, then renames it into place.</summary>
    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        string directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
