namespace NewLlm.Data;

/// <summary>
/// Gets the files of a <see cref="DialogueSource"/> from one Hub repository, making sure each can be read: a file whose
/// bytes no checksum vouches for (just downloaded, or cached unverified) is read through with the format's fields.
/// </summary>
internal sealed class HubFiles(
    HuggingFaceHubDownloader downloader, bool offline, string repository, DialogueFormat format, IProgress<DownloadProgress>? progress, ILogger? logger)
{
    /// <summary>The downloader (for listing and URLs).</summary>
    public HuggingFaceHubDownloader Downloader { get; } = downloader;

    /// <summary>
    /// The local path of a file that can be read. A cached one that cannot is removed and downloaded once more (offline,
    /// the error names the files to delete); a fresh one that cannot is the server's bad copy: it leaves the cache.
    /// </summary>
    public async Task<string> GetReadableAsync(string path, string? sha256, long? size, CancellationToken cancellationToken)
    {
        var (file, fromCache) = await Downloader.GetFileCoreAsync(repository, path, sha256, size, progress, cancellationToken).ConfigureAwait(false);
        if (fromCache && sha256 is not null)
        {
            return file; // its sha256 was checked against the expected one
        }

        string url = Downloader.GetFileUrl(repository, path).ToString();
        try
        {
            await foreach (var _ in SourceFiles.ReadAsync(file, format.Fields, RowLimit.Default, cancellationToken).ConfigureAwait(false))
            {
            }

            return file;
        }
        catch (InvalidDataException e) when (fromCache && offline)
        {
            string? blob = Downloader.FindBlob(repository, file);
            throw new InvalidDataException(
                $"{e.Message} It is the cached copy of '{url}', and HuggingFaceHubOptions.Offline is set (by default from HF_HUB_OFFLINE), "
                + $"so it is not downloaded again: delete '{file}'{(blob is null ? string.Empty : $" and '{blob}'")} and load with HuggingFaceHubOptions.Offline false.",
                e);
        }
        catch (InvalidDataException e) when (fromCache)
        {
            logger?.LogWarning(DataLogEvents.CachedFileUnreadable, e, "The cached {Path} cannot be read; it is removed and {Url} downloaded again", file, url);
        }
        catch (InvalidDataException e)
        {
            Downloader.DeleteCachedFile(repository, path);
            throw new InvalidDataException(
                $"{e.Message} The file was downloaded from '{url}' just now and matched what the server says of it, so the server's copy itself "
                + "cannot be read (or HuggingFaceHubOptions.Endpoint is not the Hub); it was removed from the cache.",
                e);
        }

        Downloader.DeleteCachedFile(repository, path);
        return await GetReadableAsync(path, sha256, size, cancellationToken).ConfigureAwait(false);
    }
}
