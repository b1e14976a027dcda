namespace NewLlm.Data;

/// <summary>
/// The event ids of NewLlm.Data's log messages: 2xx, named, and never renumbered, so that log filters and queries can
/// rely on them (NewLlm.Training's are 3xx).
/// </summary>
internal static class DataLogEvents
{
    public static readonly EventId HubFilesListed = new(200, nameof(HubFilesListed));
    public static readonly EventId SnapshotFolderListed = new(201, nameof(SnapshotFolderListed));
    public static readonly EventId HubFileDownloaded = new(202, nameof(HubFileDownloaded));
    public static readonly EventId CachedFileRemoved = new(203, nameof(CachedFileRemoved));
    public static readonly EventId CachedFileFailedCheck = new(204, nameof(CachedFileFailedCheck));
    public static readonly EventId HubRequestFailed = new(205, nameof(HubRequestFailed));
    public static readonly EventId StaleDownloadsRemoved = new(206, nameof(StaleDownloadsRemoved));
    public static readonly EventId CachedFileUnreadable = new(207, nameof(CachedFileUnreadable));
    public static readonly EventId RowsSelected = new(210, nameof(RowsSelected));
    public static readonly EventId VocabularyCoverageLow = new(211, nameof(VocabularyCoverageLow));
    public static readonly EventId VocabularyCacheLoaded = new(212, nameof(VocabularyCacheLoaded));
    public static readonly EventId VocabularyCacheUnreadable = new(213, nameof(VocabularyCacheUnreadable));
    public static readonly EventId EmptyDialoguesSkipped = new(214, nameof(EmptyDialoguesSkipped));
    public static readonly EventId DialoguesTokenized = new(215, nameof(DialoguesTokenized));
    public static readonly EventId CorpusCacheWritten = new(220, nameof(CorpusCacheWritten));
    public static readonly EventId CorpusCacheLoaded = new(221, nameof(CorpusCacheLoaded));
    public static readonly EventId CorpusCacheRebuilt = new(222, nameof(CorpusCacheRebuilt));
}
