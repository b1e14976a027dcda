namespace NewLlm.Cli;

/// <summary>The checks newllm train makes of <c>--output</c> before any data is prepared.</summary>
internal static class OutputFolder
{
    /// <summary>
    /// Refuses an output directory that cannot be one, that another run uses, or that holds results this run would
    /// replace (unless the run continues there, or overwrites on request).
    /// </summary>
    /// <param name="options">The run's options.</param>
    /// <param name="resumePath">The checkpoint the run continues, or <see langword="null"/>.</param>
    public static void Check(TrainerOptions options, string? resumePath)
    {
        string directory = Path.GetFullPath(options.OutputDirectory!);
        for (string? parent = directory; parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                throw new IOException($"--output {options.OutputDirectory}: '{parent}' is a file, so there can be no folder under it. Choose another --output.");
            }
        }

        if (RunDirectory.FindHolder(directory) is string holder)
        {
            throw new IOException($"--output {options.OutputDirectory} is in use by {holder}. Wait for that run to end, or choose another --output (if no run uses it, delete {Path.Combine(directory, RunDirectory.LockFileName)}).");
        }

        // Proves the folder (and the tokenized-data cache in it) can be written, before any data is prepared, and leaves
        // no trace: the folders this check creates are removed again, so a run refused later (its checkpoint, its data)
        // leaves nothing behind; the data preparation creates them when it writes the cache.
        string cache = Path.Combine(directory, "cache");
        List<string> created = [.. MissingFolders(cache)];
        try
        {
            RunDirectory.Claim(directory).Dispose();
            Directory.CreateDirectory(cache);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"--output {options.OutputDirectory} cannot be written ({ex.Message}). Choose another --output, or make it writable.", ex);
        }
        finally
        {
            RemoveEmpty(created);
        }

        bool continuesHere = resumePath is not null && Path.GetDirectoryName(Path.GetFullPath(resumePath)) == directory;
        IReadOnlyList<string> earlier = continuesHere || options.OverwriteOutput ? [] : RunDirectory.FindEarlierResults(options);
        if (earlier.Count > 0)
        {
            string? resumable = RunDirectory.FindLatestCheckpoint(directory, options.ModelName);
            throw new IOException($"--output {options.OutputDirectory} already holds the results of an earlier {options.ModelName} run ({string.Join(", ", earlier.Select(Path.GetFileName))}). "
                + (resumable is null ? string.Empty : $"Continue it with --resume {resumable}, replace ")
                + (resumable is null ? "Replace " : string.Empty) + "it with --overwrite, or choose another --output.");
        }
    }

    /// <summary>The outermost of the folders on the way to (and including) <paramref name="path"/> that do not exist yet, or <see langword="null"/>.</summary>
    /// <param name="path">A folder.</param>
    public static string? OutermostMissingFolder(string path) => MissingFolders(Path.GetFullPath(path)).LastOrDefault();

    // The folders on the way to (and including) the path that do not exist yet, innermost first.
    private static IEnumerable<string> MissingFolders(string path)
    {
        for (string? folder = path; folder is not null && !Directory.Exists(folder); folder = Path.GetDirectoryName(folder))
        {
            yield return folder;
        }
    }

    // Removes the folders, innermost first, while they are empty (one another process wrote into is left as it is).
    private static void RemoveEmpty(IEnumerable<string> folders)
    {
        foreach (string folder in folders)
        {
            try
            {
                Directory.Delete(folder, recursive: false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
