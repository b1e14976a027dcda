using System.Diagnostics;
using System.Text.Json.Serialization;

namespace NewLlm.Training;

/// <summary>
/// A run's output directory (<see cref="TrainerOptions.OutputDirectory"/>) and its policy: the names of the checkpoints
/// and reports of a run named <see cref="TrainerOptions.ModelName"/>, the results an earlier run left there, the checkpoint
/// to resume from, and the claim that keeps the directory to one run at a time.
/// <para>
/// An instance is a claim (<see cref="Claim"/>): a file, <see cref="LockFileName"/>, created atomically in the directory
/// with the owner's process id, host and start time, deleted by <see cref="Dispose"/>. A lock file whose process no longer
/// runs on this host is stale and taken over; a live owner, or one on another host (which cannot be checked), refuses the
/// claim. The trainer holds the claim for the whole of <see cref="Trainer.Train"/>; a program can call
/// <see cref="FindHolder"/> and <see cref="FindEarlierResults"/> first, to refuse before preparing data.
/// </para>
/// </summary>
/// <remarks>
/// A lock file rather than an OS lock names its owner in the error and works across hosts and platforms alike. (On Unix,
/// .NET's <see cref="FileShare.None"/> is an advisory <c>flock</c> that also refuses readers; <see cref="FileStream.Lock"/>
/// is a per-process <c>fcntl</c> lock that closing any other handle of the file in the process releases.)
/// </remarks>
public sealed class RunDirectory : IDisposable
{
    /// <summary>The lock file's name inside the output directory.</summary>
    public const string LockFileName = ".newllm.lock";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly string _contents;
    private bool _released;

    private RunDirectory(string directory, string lockFile, string contents)
    {
        FullPath = directory;
        LockFile = lockFile;
        _contents = contents;
    }

    /// <summary>The claimed directory (full path).</summary>
    public string FullPath { get; }

    /// <summary>The lock file (full path).</summary>
    public string LockFile { get; }

    /// <summary>Path of a checkpoint file of the run, e.g. <c>best_{name}.pt</c>, under the output directory.</summary>
    /// <param name="options">The run's options (output directory and model name).</param>
    /// <param name="kind">Which checkpoint.</param>
    /// <param name="epoch">The epoch, for periodic checkpoints.</param>
    /// <param name="step">The optimizer step, for <see cref="CheckpointKind.Step"/> checkpoints.</param>
    /// <exception cref="InvalidOperationException">No output directory is set.</exception>
    public static string CheckpointPath(TrainerOptions options, CheckpointKind kind, int epoch = 0, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        string name = options.ModelName;
        return Under(options, kind switch
        {
            CheckpointKind.Best => $"best_{name}.pt",
            CheckpointKind.Final => $"{name}_final.pt",
            CheckpointKind.Interrupted => $"{name}_interrupted.pt",
            CheckpointKind.Step => string.Create(CultureInfo.InvariantCulture, $"{name}_step_{step}.pt"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{name}_epoch_{epoch}.pt"),
        });
    }

    /// <summary><c>{name}_progress.json</c> under the output directory.</summary>
    /// <param name="options">The run's options.</param>
    public static string ProgressJson(TrainerOptions options) => Under(options, $"{options.ModelName}_progress.json");

    /// <summary><c>{name}_metrics.csv</c> under the output directory.</summary>
    /// <param name="options">The run's options.</param>
    public static string MetricsCsv(TrainerOptions options) => Under(options, $"{options.ModelName}_metrics.csv");

    /// <summary><c>{name}_curves.png</c> under the output directory (drawn by NewLlm.Training.Plots' <c>TrainingCurvesPlotter</c>).</summary>
    /// <param name="options">The run's options.</param>
    public static string CurvesPng(TrainerOptions options) => Under(options, $"{options.ModelName}_curves.png");

    /// <summary>
    /// The checkpoints and reports that a run with these options' <see cref="TrainerOptions.ModelName"/> would write and
    /// that already exist under <see cref="TrainerOptions.OutputDirectory"/> (none without one). A fresh run refuses to
    /// start over them unless <see cref="TrainerOptions.OverwriteOutput"/> is set; programs can check it before preparing data.
    /// </summary>
    /// <param name="options">The run's options.</param>
    /// <returns>Full paths, sorted.</returns>
    public static IReadOnlyList<string> FindEarlierResults(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OutputDirectory is null || !Directory.Exists(options.OutputDirectory))
        {
            return [];
        }

        string directory = Path.GetFullPath(options.OutputDirectory);
        string[] exact = [CheckpointPath(options, CheckpointKind.Best), CheckpointPath(options, CheckpointKind.Final), CheckpointPath(options, CheckpointKind.Interrupted), ProgressJson(options), MetricsCsv(options), CurvesPng(options)];
        IEnumerable<string> numbered = Directory.EnumerateFiles(directory, $"{options.ModelName}_epoch_*.pt").Concat(Directory.EnumerateFiles(directory, $"{options.ModelName}_step_*.pt"));
        return [.. exact.Where(File.Exists).Concat(numbered).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The checkpoint in <paramref name="directory"/> from which a run continues furthest: of the checkpoints that can be
    /// read (those of run <paramref name="modelName"/> when given), the one with the most optimizer steps (the final one
    /// on a tie), or null. Best checkpoints (<c>best_*.pt</c>) are not considered: resuming from one would repeat the
    /// epochs after it.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <param name="modelName">The run's name (<see cref="TrainerOptions.ModelName"/>), or null for any run.</param>
    public static string? FindLatestCheckpoint(string directory, string? modelName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        string? latest = null;
        long latestStep = -1;
        IEnumerable<string> candidates = Directory.EnumerateFiles(directory, modelName is null ? "*.pt" : $"{modelName}_*.pt")
            .Where(f => !Path.GetFileName(f).StartsWith("best_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .OrderBy(f => f.EndsWith("_final.pt", StringComparison.Ordinal) ? 0 : 1);
        foreach (string path in candidates)
        {
            long step;
            try
            {
                using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
                step = checkpoint.Manifest.State.GlobalStep;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                continue; // damaged: not one to resume from
            }

            if (step > latestStep)
            {
                (latest, latestStep) = (path, step);
            }
        }

        return latest;
    }

    /// <summary>Claims <paramref name="directory"/> (created if absent) for this process.</summary>
    /// <param name="directory">The output directory.</param>
    /// <param name="purpose">What the claim is for (for example the run's name), written into the lock file for whoever finds it.</param>
    /// <returns>The claim; dispose it to release the directory.</returns>
    /// <exception cref="IOException">Another live run holds the directory (the message names its process and host), or the directory cannot be written.</exception>
    public static RunDirectory Claim(string directory, string? purpose = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string fullDirectory = Path.GetFullPath(directory);
        Directory.CreateDirectory(fullDirectory);
        string path = Path.Combine(fullDirectory, LockFileName);
        using Process self = Process.GetCurrentProcess();
        var owner = new LockOwner(Environment.ProcessId, Environment.MachineName, self.StartTime.ToUniversalTime(), DateTime.UtcNow, purpose);
        string contents = JsonSerializer.Serialize(owner, JsonOptions);
        for (int attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write(contents);
                }

                return new RunDirectory(fullDirectory, path, contents);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (DescribeLiveHolder(path, out string? staleContents) is string holder)
                {
                    throw Held(fullDirectory, holder);
                }

                // Stale: its process is gone. Remove it only if it is still the same stale file, then claim once more.
                if (attempt == 0 && staleContents is not null && TryRead(path) == staleContents)
                {
                    TryDelete(path);
                }
            }
        }

        throw Held(fullDirectory, DescribeLiveHolder(path, out _) ?? "another process that claimed it at the same moment");
    }

    /// <summary>
    /// Who holds <paramref name="directory"/>, or null when nobody live does (no lock file, or a stale one). A check only,
    /// for refusing early: <see cref="Claim"/> is what claims the directory.
    /// </summary>
    /// <param name="directory">The output directory.</param>
    /// <returns>A description of the holder ("process 1234 on host x, since …"), or null.</returns>
    public static string? FindHolder(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string path = Path.Combine(Path.GetFullPath(directory), LockFileName);
        return File.Exists(path) ? DescribeLiveHolder(path, out _) : null;
    }

    /// <summary>Releases the directory: deletes the lock file if it is still this claim's.</summary>
    public void Dispose()
    {
        if (!_released)
        {
            _released = true;
            if (TryRead(LockFile) == _contents)
            {
                TryDelete(LockFile);
            }
        }
    }

    // Takes the output directory for a run: proves it writable, claims it, deletes the temporary files a killed run left,
    // and refuses to replace an earlier run's results unless the run continues them (continuesIn is this directory) or
    // TrainerOptions.OverwriteOutput is set.
    internal static RunDirectory ClaimForRun(TrainerOptions options, string? continuesIn, ILogger logger)
    {
        string directory = EnsureWritable(options.OutputDirectory!);
        RunDirectory claim = Claim(directory, options.ModelName);
        try
        {
            // With the lock held, no other run writes here: every temporary file left in it is a killed run's.
            if (AtomicFile.DeleteStale(claim.FullPath, TimeSpan.Zero) is int stale and > 0)
            {
                logger.LogInformation(TrainingLogEvents.StaleTemporaryFilesDeleted, "Deleted {Count} temporary file(s) that an interrupted run left in {Directory}.", stale, claim.FullPath);
            }

            bool continuesHere = string.Equals(continuesIn, claim.FullPath, StringComparison.Ordinal);
            IReadOnlyList<string> earlier = continuesHere ? [] : FindEarlierResults(options);
            if (earlier.Count > 0 && !options.OverwriteOutput)
            {
                string? interrupted = FindLatestCheckpoint(claim.FullPath, options.ModelName);
                throw new IOException(
                    $"The output directory '{claim.FullPath}' already holds results of a run named '{options.ModelName}' ({string.Join(", ", earlier.Select(Path.GetFileName))}). "
                    + (interrupted is null ? string.Empty : $"To continue that run, call LoadCheckpoint(\"{interrupted}\") before training; ")
                    + "to replace it, set TrainerOptions.OverwriteOutput; or choose another TrainerOptions.OutputDirectory or ModelName.");
            }

            foreach (string file in earlier)
            {
                logger.LogWarning(TrainingLogEvents.EarlierResultsOverwritten, "Overwriting the earlier run's results: deleting {File}.", file);
                File.Delete(file);
            }

            return claim;
        }
        catch
        {
            claim.Dispose();
            throw;
        }
    }

    private static string Under(TrainerOptions options, string file)
    {
        string directory = options.OutputDirectory ?? throw new InvalidOperationException("TrainerOptions.OutputDirectory is not set.");
        return Path.GetFullPath(Path.Combine(directory, file));
    }

    // Creates the directory and proves it writable with a probe file, so a bad path fails before any work.
    private static string EnsureWritable(string path)
    {
        string directory = Path.GetFullPath(path);
        string probe = Path.Combine(directory, $".write-test-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(probe, [1]);
            File.Delete(probe);
            return directory;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            string why = Directory.Exists(directory) ? ex.Message : AtomicFile.DescribeUncreatableDirectory(directory, ex);
            throw new IOException($"The output directory '{directory}' (TrainerOptions.OutputDirectory) cannot be written: {why}", ex);
        }
    }

    private static IOException Held(string directory, string holder) =>
        new($"The output directory '{directory}' is in use by {holder}: two runs must not write the same checkpoints and reports. Wait for that run to end or choose another output directory; if you are sure no run uses it, delete '{Path.Combine(directory, LockFileName)}'.");

    // The live holder of the lock file, or null when it is stale (then staleContents is what it holds).
    private static string? DescribeLiveHolder(string path, out string? staleContents)
    {
        staleContents = null;
        string? text = TryRead(path);
        if (text is null)
        {
            return File.Exists(path) ? "another process (its lock file cannot be read)" : null;
        }

        LockOwner? owner;
        try
        {
            owner = JsonSerializer.Deserialize<LockOwner>(text, JsonOptions);
        }
        catch (JsonException)
        {
            owner = null;
        }

        if (owner is null)
        {
            // Being written this very moment, or torn by a crash: young ones are held, old ones are stale.
            bool young = DateTime.UtcNow - File.GetLastWriteTimeUtc(path) < TimeSpan.FromSeconds(10);
            staleContents = young ? null : text;
            return young ? "another process that is claiming it now" : null;
        }

        string description = string.Create(CultureInfo.InvariantCulture, $"process {owner.ProcessId} on host {owner.Host}{(owner.Purpose is null ? string.Empty : $" ({owner.Purpose})")}, since {owner.ClaimedUtc:yyyy-MM-dd HH:mm:ss} UTC");
        bool otherHost = !string.Equals(owner.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);
        if (otherHost || IsRunning(owner.ProcessId, owner.ProcessStartUtc))
        {
            return description; // another host's process cannot be checked from here
        }

        staleContents = text;
        return null;
    }

    // Whether the process runs and is the one that started then (not a later process given the same id).
    private static bool IsRunning(int processId, DateTime startUtc)
    {
        try
        {
            using Process process = Process.GetProcessById(processId);
            return !process.HasExited && Math.Abs((process.StartTime.ToUniversalTime() - startUtc).TotalSeconds) < 2;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return false; // no such process, or it exited meanwhile
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return true; // exists, but may not be inspected: assume it is the owner
        }
    }

    private static string? TryRead(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next run, which will find it stale.
        }
    }

    private sealed record LockOwner(
        [property: JsonPropertyName("pid")] int ProcessId,
        string Host,
        DateTime ProcessStartUtc,
        DateTime ClaimedUtc,
        string? Purpose);
}
