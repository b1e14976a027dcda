namespace NewLlm.Training;

/// <summary>The run's output directory: checked before training starts, so a bad path fails before any work.</summary>
internal static class OutputDirectory
{
    /// <summary>Creates the directory and proves it can be written (a probe file, deleted again).</summary>
    /// <exception cref="IOException">It cannot be created or written.</exception>
    public static void EnsureWritable(string path)
    {
        string directory = Path.GetFullPath(path);
        string probe = Path.Combine(directory, $".write-test-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            string why = Directory.Exists(directory) ? ex.Message : AtomicFile.DescribeUncreatableDirectory(directory, ex);
            throw new IOException($"The output directory '{directory}' (TrainerOptions.OutputDirectory) cannot be written: {why}", ex);
        }
    }
}
