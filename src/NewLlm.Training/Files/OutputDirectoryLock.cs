using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NewLlm.Training;

/// <summary>
/// An exclusive claim on a run's output directory, so that two runs never write the same <c>best</c>, <c>final</c> and
/// report files. The claim is a file, <see cref="FileName"/>, created atomically in the directory and holding the owner's
/// process id, host and start time; it is deleted when the lock is disposed. A lock file whose process no longer runs on
/// this host (killed, crashed) is stale and taken over; one whose owner runs, or runs on another host (which cannot be
/// checked), refuses the claim. The trainer takes this lock for the whole of <see cref="Trainer.Train"/>; a program can
/// call <see cref="FindHolder"/> first to refuse early, before preparing data.
/// </summary>
/// <remarks>
/// A lock file rather than an OS file lock: its owner can be named in the error, and it works the same on every
/// platform .NET runs on (advisory <c>flock</c> on Unix and share modes on Windows differ, and neither says who holds it).
/// </remarks>
public sealed class OutputDirectoryLock : IDisposable
{
    /// <summary>The lock file's name inside the output directory.</summary>
    public const string FileName = ".newllm.lock";

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly string _contents;
    private bool _released;

    private OutputDirectoryLock(string directory, string path, string contents)
    {
        Directory = directory;
        Path = path;
        _contents = contents;
    }

    /// <summary>The locked directory (full path).</summary>
    public string Directory { get; }

    /// <summary>The lock file (full path).</summary>
    public string Path { get; }

    /// <summary>Claims <paramref name="directory"/> (created if absent) for this process.</summary>
    /// <param name="directory">The output directory.</param>
    /// <param name="purpose">What the claim is for (for example the run's name), written into the lock file for whoever finds it.</param>
    /// <returns>The lock; dispose it to release the directory.</returns>
    /// <exception cref="IOException">Another live run holds the directory (the message names its process and host), or the directory cannot be written.</exception>
    public static OutputDirectoryLock Acquire(string directory, string? purpose = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string fullDirectory = System.IO.Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(fullDirectory);
        string path = System.IO.Path.Combine(fullDirectory, FileName);
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

                return new OutputDirectoryLock(fullDirectory, path, contents);
            }
            catch (IOException) when (File.Exists(path))
            {
                string? holder = DescribeLiveHolder(path, out string? staleContents);
                if (holder is not null)
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
    /// for refusing early: <see cref="Acquire"/> is what claims the directory.
    /// </summary>
    /// <param name="directory">The output directory.</param>
    /// <returns>A description of the holder ("process 1234 on host x, since …"), or null.</returns>
    public static string? FindHolder(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string path = System.IO.Path.Combine(System.IO.Path.GetFullPath(directory), FileName);
        return File.Exists(path) ? DescribeLiveHolder(path, out _) : null;
    }

    /// <summary>Releases the directory: deletes the lock file if it is still this lock's.</summary>
    public void Dispose()
    {
        if (!_released)
        {
            _released = true;
            if (TryRead(Path) == _contents)
            {
                TryDelete(Path);
            }
        }
    }

    private static IOException Held(string directory, string holder) =>
        new($"The output directory '{directory}' is in use by {holder}: two runs must not write the same checkpoints and reports. Wait for that run to end or choose another output directory; if you are sure no run uses it, delete '{System.IO.Path.Combine(directory, FileName)}'.");

    /// <summary>The live holder of the lock file at <paramref name="path"/>, or null when it is stale (then <paramref name="staleContents"/> is what it holds).</summary>
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
        if (!string.Equals(owner.Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase))
        {
            return description; // another host: its process cannot be checked from here
        }

        if (IsRunning(owner.ProcessId, owner.ProcessStartUtc))
        {
            return description;
        }

        staleContents = text;
        return null;
    }

    /// <summary>Whether process <paramref name="processId"/> runs and is the one that started at <paramref name="startUtc"/> (not a later process given the same id).</summary>
    private static bool IsRunning(int processId, DateTime startUtc)
    {
        try
        {
            using Process process = Process.GetProcessById(processId);
            if (process.HasExited)
            {
                return false;
            }

            return Math.Abs((process.StartTime.ToUniversalTime() - startUtc).TotalSeconds) < 2;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false; // exited meanwhile
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
