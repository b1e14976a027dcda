namespace NewLlm.Training;

/// <summary>Writes a run's checkpoints under its output directory, and records them in the run's state.</summary>
internal static class CheckpointWriter
{
    /// <summary>Writes checkpoint <paramref name="kind"/> with <paramref name="save"/>; returns its path, recorded as the last (and, for <see cref="CheckpointKind.Best"/>, the best).</summary>
    public static string Write(TrainerOptions options, TrainerState state, CheckpointKind kind, int epoch, Action<string> save)
    {
        string path = RunDirectory.CheckpointPath(options, kind, epoch, state.GlobalStep);
        if (kind == CheckpointKind.Best)
        {
            state.BestCheckpointPath = path;
        }

        try
        {
            save(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NotWritten(path, ex, state.BestCheckpointPath, options.ModelName);
        }

        state.LastCheckpointPath = path;
        return path;
    }

    // The error for a checkpoint that could not be written (a full disk, most often): which one, that nothing written
    // before is lost (checkpoints are written to a temporary file and renamed), and which checkpoint to resume from.
    private static IOException NotWritten(string path, Exception error, string? bestPath, string modelName)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? best = bestPath is not null && File.Exists(bestPath) ? bestPath : null;
        string? latest;
        try
        {
            latest = RunDirectory.FindLatestCheckpoint(directory, modelName) ?? best;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            latest = best; // the folder cannot even be listed: the error being reported is the one that matters
        }

        string kept = best is null
            ? "no best checkpoint had been written yet; every checkpoint written before is intact"
            : $"the previous best, {best}, and every checkpoint written before are intact";
        string resume = latest is null
            ? "No checkpoint of this run has been written yet: free some space if the disk is full (or mend what the error names), then start the run again."
            : $"Free some space if the disk is full (or mend what the error names), then resume from {latest}"
                + (latest == best ? " (the only checkpoint left to resume from: the epochs after it are trained again)." : ".");
        return new IOException(
            $"The checkpoint {path} could not be written ({error.Message.TrimEnd('.')}). Nothing was lost: checkpoints are written to a temporary file and renamed, so {kept}. {resume}",
            error);
    }
}
