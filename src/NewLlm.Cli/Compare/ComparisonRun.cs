namespace NewLlm.Cli;

/// <summary>
/// One of <c>newllm compare</c>'s two runs (New-LLM's or the baseline's): its folder, the settings this command trains it
/// with, and what its folder holds from an earlier comparison: nothing (<see cref="ComparisonRunState.Fresh"/>), a run
/// that finished with the same settings (reused, not retrained) or one that was interrupted (continued with
/// <c>newllm train --resume</c> from the checkpoint that trained furthest, <see cref="RunDirectory.FindLatestCheckpoint"/>).
/// Settings are read from the checkpoint as a resumed run reads them (<see cref="ResumePoint"/>); a run with other
/// settings is refused, naming each difference.
/// </summary>
/// <param name="name">The model's name in the table and in messages.</param>
/// <param name="folder">The run's folder (full path).</param>
/// <param name="settings">The options whose values the run must have been trained with.</param>
internal sealed class ComparisonRun(string name, string folder, IReadOnlyList<ComparisonRun.Setting> settings)
{
    /// <summary>The file in <see cref="Folder"/> that keeps the output of the <c>newllm train</c> that finished the run (its figures line, <see cref="RunFigures"/>), for a comparison that reuses the run.</summary>
    public const string OutputFileName = "train_output.log";

    /// <summary>The model's name in the table and in messages.</summary>
    public string Name => name;

    /// <summary>The run's folder (full path).</summary>
    public string Folder => folder;

    /// <summary>The <see cref="OutputFileName"/> of the run.</summary>
    public string OutputFile => Path.Combine(folder, OutputFileName);

    /// <summary>
    /// What the folder holds: the checkpoint that trained furthest, and whether it is the run's final one (the run
    /// finished). Refuses a run whose recorded settings differ from this command's, naming each difference.
    /// </summary>
    /// <returns>The state and the checkpoint (<see langword="null"/> when fresh).</returns>
    public (ComparisonRunState State, string? Checkpoint) Inspect()
    {
        string? latest = RunDirectory.FindLatestCheckpoint(folder);
        if (latest is null)
        {
            return (ComparisonRunState.Fresh, null);
        }

        ResumePoint point = ResumePoint.Read(latest, "--output");
        string[] differences = [.. settings
            .Select(s => (s.Option, s.Value, Recorded: s.Recorded(point)))
            .Where(s => !Equals(s.Value, s.Recorded))
            .Select(s => $"{s.Option} {Text(s.Value)} here, {Text(s.Recorded)} there")];
        if (differences.Length > 0)
        {
            throw new ArgumentException(
                $"--output {Path.GetDirectoryName(folder)} holds an earlier {name} run ({Path.GetFileName(latest)}) with other settings than this command's: {string.Join("; ", differences)}. "
                + "Give its settings to continue or reuse it, pass --overwrite to train both models afresh (the earlier runs are deleted), or choose another --output.");
        }

        return (latest.EndsWith("_final.pt", StringComparison.Ordinal) ? ComparisonRunState.Finished : ComparisonRunState.Interrupted, latest);
    }

    /// <summary>
    /// Deletes what an earlier run left in the folder (checkpoints, reports, <see cref="OutputFileName"/>), keeping the
    /// data cache, so that an interrupted <c>--overwrite</c> comparison is continued, not mixed with the one it replaces.
    /// </summary>
    public void DeleteEarlierRun()
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        if (RunDirectory.FindHolder(folder) is string holder)
        {
            throw new IOException($"--output {Path.GetDirectoryName(folder)}: {folder} is in use by {holder}. Wait for that run to end, or choose another --output.");
        }

        foreach (string file in Directory.EnumerateFiles(folder))
        {
            File.Delete(file);
        }
    }

    private static string Text(object? value) => value switch
    {
        null => "none",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    /// <summary>An option of <c>newllm compare</c>, this command's value of it, and how to read the value a checkpoint records.</summary>
    /// <param name="Option">The option's name, as the command line spells it.</param>
    /// <param name="Value">This command's value (<see langword="null"/> when none).</param>
    /// <param name="Recorded">The value the checkpoint records.</param>
    internal sealed record Setting(string Option, object? Value, Func<ResumePoint, object?> Recorded);
}
