// One atomic file write for every NewLlm assembly: this file is linked into each of them (as dotnet/runtime shares
// src/libraries/Common), and stays internal so the separately shipped packages never depend on each other's internals.

namespace NewLlm;

/// <summary>
/// Writes a file so that it is either the old one or the complete new one: to a temporary file beside it, named
/// <c>.{name}.{guid}.tmp</c>, flushed, then renamed into place. On any failure the temporary file is removed in a way
/// that never hides the original error, and the old file is untouched. Every temporary file is held open with
/// <see cref="FileShare.None"/> while it is written (an OS lock: <c>flock</c> on Unix, a share mode on Windows, freed by the
/// OS when the process ends, even on <c>kill -9</c>), so <see cref="DeleteOrphaned"/> can tell the leftovers of killed
/// processes (no holder) from files being written; <see cref="DeleteStale"/> removes them by age.
/// </summary>
internal static class AtomicFile
{
    private const string Suffix = ".tmp";

    /// <summary>
    /// A temporary file written this recently is never taken for an orphan: it covers the instant between its creation and
    /// its lock, and between its last write (the lock released) and its rename.
    /// </summary>
    private static readonly TimeSpan OrphanGrace = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/> (its directory is created); <paramref name="flushToDisk"/>
    /// flushes to the disk before the rename (for files a crash must not lose).
    /// </summary>
    /// <exception cref="IOException">The directory cannot be created or the file written; the message names the path.</exception>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = false)
    {
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Prepare(path);
        string temporary = TemporaryPathFor(fullPath);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk);
                MarkFresh(stream);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>The asynchronous form of <see cref="Write"/>; a cancelled write leaves the old file.</summary>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken, bool flushToDisk = false)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        await WriteNamedAsync(
            Path.GetDirectoryName(fullPath)!,
            Path.GetFileName(fullPath),
            async (stream, token) =>
            {
                await write(stream, token).ConfigureAwait(false);
                return fullPath;
            },
            cancellationToken,
            flushToDisk).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a file whose name is known only once its content is (a download stored under its hash): <paramref name="write"/>
    /// writes and checks the content and returns the path to rename it to (on the volume of <paramref name="directory"/>,
    /// where the temporary file goes); if it throws, nothing is left behind.
    /// </summary>
    /// <returns>The final path.</returns>
    public static async Task<string> WriteNamedAsync(string directory, string name, Func<Stream, CancellationToken, Task<string>> write, CancellationToken cancellationToken, bool flushToDisk = false)
    {
        ArgumentNullException.ThrowIfNull(write);
        string temporary = TemporaryPathFor(Prepare(Path.Combine(directory, name)));
        try
        {
            string destination;
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                destination = await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (flushToDisk)
                {
                    stream.Flush(flushToDisk: true);
                }

                MarkFresh(stream);
            }

            string fullDestination = Prepare(destination);
            File.Move(temporary, fullDestination, overwrite: true);
            return fullDestination;
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> with the same guarantee (the destination is the old file or a whole copy).</summary>
    public static void Copy(string source, string destination) =>
        Write(destination, output =>
        {
            // Copied through a held stream (not File.Copy) so that the temporary file is locked while it is written.
            using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            input.CopyTo(output);
        });

    /// <summary>The temporary name used for <paramref name="path"/>: <c>.{name}.{guid}.tmp</c> in the same directory.</summary>
    public static string TemporaryPathFor(string path)
    {
        string fullPath = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}{Suffix}");
    }

    /// <summary>Deletes temporary files of this scheme in <paramref name="directory"/> (not below it) last written more than <paramref name="olderThan"/> ago: leftovers of killed processes.</summary>
    /// <returns>How many were deleted.</returns>
    public static int DeleteStale(string directory, TimeSpan olderThan) => DeleteTemporaryFiles(directory, DateTime.UtcNow - olderThan, TryDelete);

    /// <summary>
    /// Deletes temporary files of this scheme in <paramref name="directory"/> (not below it) that no process holds: their
    /// writer was killed (the OS released its lock) or failed without removing them. A file whose lock is taken by a live
    /// writer, in this process or another, is left alone, and so is one written in the last few seconds (see
    /// <see cref="OrphanGrace"/>). Where file locking is switched off (<c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>, or the
    /// <c>System.IO.DisableFileLocking</c> switch) no lock says anything, and only files older than
    /// <paramref name="ageWithoutLocks"/> are removed, as <see cref="DeleteStale"/> does.
    /// </summary>
    /// <returns>How many were deleted.</returns>
    public static int DeleteOrphaned(string directory, TimeSpan ageWithoutLocks) => FileLockingDisabled()
        ? DeleteStale(directory, ageWithoutLocks)
        : DeleteTemporaryFiles(directory, DateTime.UtcNow - OrphanGrace, TryDeleteUnlocked);

    /// <summary>
    /// Sets a temporary file's write time to now just before its lock is released, so that the instant until its rename
    /// falls within <see cref="OrphanGrace"/> however long the writer worked since its last write (hashing, flushing).
    /// </summary>
    public static void MarkFresh(FileStream stream) => File.SetLastWriteTimeUtc(stream.SafeFileHandle, DateTime.UtcNow);

    /// <summary>Deletes, with <paramref name="delete"/>, the temporary files of this scheme in <paramref name="directory"/> (not below it) last written before <paramref name="limit"/>.</summary>
    private static int DeleteTemporaryFiles(string directory, DateTime limit, Func<string, bool> delete) =>
        !Directory.Exists(directory)
            ? 0
            : Directory.EnumerateFiles(directory, $".*.*{Suffix}").Count(file => IsTemporaryFile(file) && File.GetLastWriteTimeUtc(file) < limit && delete(file));

    /// <summary>Takes the file's lock (fails while a writer holds it) and deletes it while holding it.</summary>
    private static bool TryDeleteUnlocked(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // held by a live writer, or gone already
        }
    }

    private static bool FileLockingDisabled() =>
        (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out bool disabled) && disabled)
        || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING")?.Trim() is "1" or "true" or "True" or "TRUE";

    /// <summary>Whether <paramref name="path"/> is named like a temporary file of this scheme (<c>.{name}.{guid}.tmp</c>).</summary>
    public static bool IsTemporaryFile(string path)
    {
        string name = Path.GetFileName(path);
        if (!name.StartsWith('.') || !name.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        string stem = Path.GetFileNameWithoutExtension(name);
        return stem.Length > 33 && stem[^33] == '.' && Guid.TryParseExact(stem[^32..], "N", out _);
    }

    /// <summary>The full path, with its directory created; an <see cref="IOException"/> naming the path when that is impossible.</summary>
    private static string Prepare(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write '{fullPath}': {DescribeUncreatableDirectory(directory, ex)}", ex);
        }

        return fullPath;
    }

    /// <summary>Why <paramref name="directory"/> cannot be created: a part of its path that is a regular file, or the error.</summary>
    public static string DescribeUncreatableDirectory(string directory, Exception error)
    {
        for (string? parent = Path.GetFullPath(directory); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                return $"the folder '{directory}' cannot be created because '{parent}' is a file, not a folder.";
            }
        }

        return $"the folder '{directory}' cannot be created ({error.Message}).";
    }

    /// <summary>Deletes a file, ignoring failures (so that they do not hide the error being handled).</summary>
    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
