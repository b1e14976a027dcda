namespace NewLlm.Training;

/// <summary>
/// Writes a file so that it is either the old one or the complete new one: to a temporary file next to it, then
/// renamed into place. Checkpoints and report files both go through it.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; on failure the temporary file is removed and the old file stays.</summary>
    /// <param name="path">The file to replace or create (its directory is created).</param>
    /// <param name="write">Writes the whole content.</param>
    /// <param name="flushToDisk">Whether to flush to the disk before the rename (for files a crash must not lose).</param>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = false)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Deletes a file, ignoring failures (so that they do not hide the error being handled).</summary>
    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
