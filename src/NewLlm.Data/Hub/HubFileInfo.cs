namespace NewLlm.Data;

/// <summary>
/// One file of a Hub repository, as <see cref="HuggingFaceHubDownloader.ListFilesAsync"/> lists it; pass it to
/// <see cref="HuggingFaceHubDownloader.GetFileAsync(string, HubFileInfo, IProgress{DownloadProgress}?, CancellationToken)"/>
/// to download it verified by its listed size and sha256.
/// </summary>
/// <param name="Path">The file's path inside the repository, with <c>/</c> separators, for example <c>data/train_sft-00000-of-00003-a1b2c3.parquet</c>.</param>
/// <param name="Size">The file's size in bytes.</param>
/// <param name="Sha256">
/// The sha256 (lowercase hex) of the file's content when the file is stored in LFS (the Hub's <c>lfs.oid</c>);
/// <see langword="null"/> for a regular git file, or when the listing came from the cache's snapshot folder.
/// </param>
public sealed record HubFileInfo(string Path, long Size, string? Sha256);
