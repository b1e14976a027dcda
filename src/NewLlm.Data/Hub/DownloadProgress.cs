namespace NewLlm.Data;

/// <summary>Progress of one file download.</summary>
/// <param name="FileName">The repository-relative file, for example <c>harmless-base/test.jsonl.gz</c>.</param>
/// <param name="BytesReceived">Bytes received so far in the current attempt.</param>
/// <param name="TotalBytes">The file's size when the server or the known checksum table gives it.</param>
public sealed record DownloadProgress(string FileName, long BytesReceived, long? TotalBytes)
{
    /// <summary>
    /// Set when this report announces a retry: the attempt that just failed, why, and how long the downloader waits
    /// before the next one (<see cref="BytesReceived"/> is then 0, the next attempt starting over).
    /// </summary>
    public DownloadRetry? Retry { get; init; }
}
