using NewLlm;
using TorchSharp;

namespace NewLlm.Cli;

/// <summary>What newllm train checks before any data is prepared: the device, the output folder, the memory a step needs.</summary>
internal static class RunChecks
{
    /// <summary>Refuses a device that is absent, bf16 on a CPU without it, an output folder that cannot be used, and a step that does not fit in memory.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="resumePath">The checkpoint the run continues, or <see langword="null"/>.</param>
    /// <param name="step">The memory estimate of one training step of the model to train.</param>
    public static void BeforeData(TrainerOptions options, string? resumePath, TrainingMemoryEstimate step)
    {
        if (options.Device != "cpu" && !torch.cuda.is_available())
        {
            throw new ArgumentException($"--device {options.Device}: CUDA is not available here (newllm uses the CPU backend TorchSharp-cpu). Use --device cpu, or train on a GPU from code with a CUDA backend of TorchSharp.");
        }

        torch.Device device = DeviceName.Resolve(options.Device); // an out-of-range cuda:N fails here, before loading data
        if (options.Precision == TrainingPrecision.BFloat16Mixed && !options.AllowSlowBFloat16)
        {
            TorchBackend.EnsureFastBFloat16(device, "--precision bf16-mixed", "pass --allow-slow-bf16");
        }

        CheckOutput(options, resumePath);
        if (step.CheckFits(options.Device) is string tooLarge)
        {
            throw new InsufficientMemoryException(tooLarge);
        }
    }

    /// <summary>The outermost of the folders on the way to (and including) <paramref name="path"/> that do not exist yet, or <see langword="null"/>.</summary>
    public static string? OutermostMissingFolder(string path) => MissingFolders(Path.GetFullPath(path)).LastOrDefault();

    // Refuses an --output that cannot be one, that another run uses, or that holds results this run would replace (unless
    // the run continues there, or overwrites on request), in the tool's words, before the trainer's claim would.
    private static void CheckOutput(TrainerOptions options, string? resumePath)
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

        // Proves the folder and its data cache writable and leaves no trace: the folders made here are removed again, so a
        // run refused later leaves nothing behind (the data preparation makes them when it writes the cache).
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
                + (resumable is null ? "Replace " : $"Continue it with --resume {resumable}, replace ") + "it with --overwrite, or choose another --output.");
        }
    }

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
