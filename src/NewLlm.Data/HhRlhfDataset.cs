using System.Collections;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace NewLlm.Data;

/// <summary>
/// The rows of one HH-RLHF subset and split, loaded completely and validated (a defect anywhere fails the whole load;
/// a partial dataset is never returned).
/// </summary>
public sealed class HhRlhfDataset : IReadOnlyList<HhRlhfRow>
{
    private readonly IReadOnlyList<HhRlhfRow> _rows;

    private HhRlhfDataset(IReadOnlyList<HhRlhfRow> rows, HhRlhfSubset subset, HhRlhfSplit split, string sourceDescription, string sourceChecksum)
    {
        _rows = rows;
        Subset = subset;
        Split = split;
        SourceDescription = sourceDescription;
        SourceChecksum = sourceChecksum;
    }

    /// <summary>How an HH-RLHF row becomes training text: its whitespace-normalised <c>chosen</c> dialogue.</summary>
    internal static DialogueFormat Format { get; } = new PreferencePairFormat();

    /// <summary>The subset the rows come from.</summary>
    public HhRlhfSubset Subset { get; }

    /// <summary>The split the rows come from.</summary>
    public HhRlhfSplit Split { get; }

    /// <summary>Where the rows were read from (file paths, the Hub URL, or a caller's description).</summary>
    public string SourceDescription { get; }

    /// <summary>
    /// A sha256 (lower-case hex) identifying the source: the files' fingerprint (one file's own sha256, or the sha256 of the
    /// files' checksums in load order), the same as <see cref="DialogueCorpus.SourceChecksum"/> of the same training files;
    /// over the texts for <see cref="FromRows"/>. Equal sources give equal checksums; use it in cache keys.
    /// </summary>
    public string SourceChecksum { get; }

    /// <inheritdoc />
    public int Count => _rows.Count;

    /// <inheritdoc />
    public HhRlhfRow this[int index] => _rows[index];

    /// <summary>The normalised <c>chosen</c> texts, in row order (what the language model trains on).</summary>
    /// <returns>The texts.</returns>
    public IReadOnlyList<string> GetNormalizedChosenTexts() => _rows.Select(r => r.NormalizedChosen).ToArray();

    /// <inheritdoc />
    public IEnumerator<HhRlhfRow> GetEnumerator() => _rows.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Loads from a directory laid out like the Hub repository: <c>{directory}/{subset}/{split}.jsonl.gz</c>
    /// (or <c>{split}.jsonl</c>); <see cref="HhRlhfSubset.All"/> loads the four subsets in turn.
    /// </summary>
    /// <param name="directory">The dataset root directory.</param>
    /// <param name="subset">The subset.</param>
    /// <param name="split">The split.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="DirectoryNotFoundException"><paramref name="directory"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">
    /// A subset file is missing; the message gives the expected layout and what the directory holds instead (for example
    /// a subset folder given in place of its parent).
    /// </exception>
    /// <exception cref="InvalidDataException">A file is corrupt; the message names the file and, for content, the 1-based line.</exception>
    public static async Task<HhRlhfDataset> LoadFromDirectoryAsync(
        string directory, HhRlhfSubset subset, HhRlhfSplit split, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException(
                $"The HH-RLHF directory '{directory}' does not exist. {ExpectedLayout(directory, subset, split)}");
        }

        var files = new List<string>();
        foreach (var single in HhRlhfLayout.Expand(subset))
        {
            string gz = Path.Combine(directory, HhRlhfLayout.GetDirectoryName(single), HhRlhfLayout.GetSplitName(split) + ".jsonl.gz");
            files.Add(DialogueSource.FindHubFile(directory, HhRlhfLayout.GetRelativePath(single, split)) ?? throw new FileNotFoundException(
                $"HH-RLHF file not found: '{gz}' (nor '{Path.GetFileName(gz)[..^3]}' beside it). {ExpectedLayout(directory, subset, split)} "
                + DescribeDirectory(directory, single, split),
                gz));
        }

        return await LoadFilesAsync(files, subset, split, string.Join(", ", files), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads from the Hugging Face Hub repository <c>Anthropic/hh-rlhf</c> through the Hub cache (see
    /// <see cref="HuggingFaceHubDownloader"/>): cached files are used as they are; missing ones are downloaded, verified
    /// against the known sha256 and size (or the Hub's own), and placed in the cache. A cached file that cannot be read is
    /// removed and downloaded once more (offline, the error names the files to delete).
    /// </summary>
    /// <param name="subset">The subset.</param>
    /// <param name="split">The split.</param>
    /// <param name="options">Hub options; <see langword="null"/> for <see cref="HuggingFaceHubOptions.FromEnvironment"/>.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="logger">A logger.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="FileNotFoundException">Offline and a file is not cached.</exception>
    /// <exception cref="HttpRequestException">The download failed.</exception>
    /// <exception cref="InvalidDataException">A checksum mismatch or a corrupt file.</exception>
    public static async Task<HhRlhfDataset> LoadFromHubAsync(
        HhRlhfSubset subset,
        HhRlhfSplit split,
        HuggingFaceHubOptions? options = null,
        IProgress<DownloadProgress>? progress = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        options ??= HuggingFaceHubOptions.FromEnvironment();
        var downloader = new HuggingFaceHubDownloader(options, logger);
        var rows = new List<HhRlhfRow>();
        var checksums = new List<string>();
        var urls = new List<string>();
        foreach (var single in HhRlhfLayout.Expand(subset))
        {
            string relative = HhRlhfLayout.GetRelativePath(single, split);
            var known = HhRlhfLayout.GetKnownChecksum(single, split);
            string url = downloader.GetFileUrl(HhRlhfLayout.RepositoryId, relative).ToString();
            var (file, fromCache) = await downloader.GetFileCoreAsync(
                HhRlhfLayout.RepositoryId, relative, known?.Sha256, known?.Size, progress, cancellationToken).ConfigureAwait(false);
            checksums.Add(fromCache
                ? await ReadCachedAsync(downloader, options, relative, file, url, known, rows, progress, logger, cancellationToken).ConfigureAwait(false)
                : await ReadDownloadedAsync(downloader, relative, file, url, rows, cancellationToken).ConfigureAwait(false));
            urls.Add(url);
        }

        return new HhRlhfDataset(rows, subset, split, string.Join(", ", urls), SourceFiles.Fingerprint(checksums));
    }

    /// <summary>
    /// Reads a cached file; one that cannot be read (an older version cached unverified, truncated downloads) is removed
    /// and downloaded once more, or, offline, the error names the files to delete.
    /// </summary>
    private static async Task<string> ReadCachedAsync(
        HuggingFaceHubDownloader downloader, HuggingFaceHubOptions options, string relative, string file, string url,
        (string Sha256, long Size)? known, List<HhRlhfRow> rows, IProgress<DownloadProgress>? progress, ILogger? logger, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadFileAsync(file, rows, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e) when (options.Offline)
        {
            string? blob = downloader.FindBlob(HhRlhfLayout.RepositoryId, file);
            throw new InvalidDataException(
                $"{e.Message} It is the cached copy of '{url}', and HuggingFaceHubOptions.Offline is set (by default from HF_HUB_OFFLINE), "
                + $"so it is not downloaded again: delete '{file}'{(blob is null ? string.Empty : $" and '{blob}'")} and load with HuggingFaceHubOptions.Offline false.",
                e);
        }
        catch (InvalidDataException e)
        {
            logger?.LogWarning(e, "The cached {Path} cannot be read; it is removed and {Url} downloaded again", file, url);
        }

        downloader.DeleteCachedFile(HhRlhfLayout.RepositoryId, relative);
        var (fresh, _) = await downloader.GetFileCoreAsync(
            HhRlhfLayout.RepositoryId, relative, known?.Sha256, known?.Size, progress, cancellationToken).ConfigureAwait(false);
        return await ReadDownloadedAsync(downloader, relative, fresh, url, rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a file just downloaded (and verified): if it cannot be read, the server's copy is bad; it leaves the cache.</summary>
    private static async Task<string> ReadDownloadedAsync(
        HuggingFaceHubDownloader downloader, string relative, string file, string url, List<HhRlhfRow> rows, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadFileAsync(file, rows, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            downloader.DeleteCachedFile(HhRlhfLayout.RepositoryId, relative);
            throw new InvalidDataException(
                $"{e.Message} The file was downloaded from '{url}' just now and matched what the server says of it, so the server's copy itself "
                + "cannot be read (or HuggingFaceHubOptions.Endpoint is not the Hub); it was removed from the cache.",
                e);
        }
    }

    /// <summary>
    /// Loads a Hugging Face <c>datasets</c> <c>save_to_disk</c> directory: Arrow IPC stream files <c>data-*.arrow</c>
    /// with string columns <c>chosen</c> and <c>rejected</c>. A <c>DatasetDict</c> directory (with <c>train</c>/<c>test</c>
    /// folders) is read from the folder of <paramref name="split"/>.
    /// </summary>
    /// <param name="saveToDiskDirectory">The directory written by <c>save_to_disk</c>.</param>
    /// <param name="subset">The subset the directory holds (a label; the directory has no subset information).</param>
    /// <param name="split">The split the directory holds, or whose folder to read in a <c>DatasetDict</c>.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="FileNotFoundException">No <c>data-*.arrow</c> file.</exception>
    /// <exception cref="InvalidDataException">A file is not Arrow IPC, lacks a column, or holds a null.</exception>
    public static async Task<HhRlhfDataset> LoadFromArrowDirectoryAsync(
        string saveToDiskDirectory, HhRlhfSubset subset = HhRlhfSubset.All, HhRlhfSplit split = HhRlhfSplit.Train,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(saveToDiskDirectory);
        if (!Directory.Exists(saveToDiskDirectory))
        {
            throw new DirectoryNotFoundException($"save_to_disk directory not found: '{saveToDiskDirectory}'.");
        }

        var files = ArrowRowReader.ListDataFiles(saveToDiskDirectory, HhRlhfLayout.GetSplitName(split));
        var dataset = await LoadFilesAsync(files, subset, split, string.Join(", ", files), cancellationToken).ConfigureAwait(false);
        return dataset.Count > 0 ? dataset : throw new InvalidDataException($"The save_to_disk directory '{saveToDiskDirectory}' holds no rows.");
    }

    /// <summary>Makes a dataset from rows in memory (for tests and callers with their own texts).</summary>
    /// <param name="rows">The rows.</param>
    /// <param name="subset">A subset label.</param>
    /// <param name="split">A split label.</param>
    /// <param name="sourceDescription">A description of the source.</param>
    /// <returns>The dataset; its <see cref="SourceChecksum"/> hashes the texts.</returns>
    public static HhRlhfDataset FromRows(
        IEnumerable<HhRlhfRow> rows, HhRlhfSubset subset = HhRlhfSubset.All, HhRlhfSplit split = HhRlhfSplit.Train,
        string sourceDescription = "in-memory rows")
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows.ToArray();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        foreach (var row in list)
        {
            ArgumentNullException.ThrowIfNull(row, nameof(rows));
            foreach (string text in new[] { row.Chosen, row.Rejected })
            {
                byte[] bytes = Encoding.UTF8.GetBytes(text);
                BitConverter.TryWriteBytes(length, (long)bytes.Length);
                hash.AppendData(length);
                hash.AppendData(bytes);
            }
        }

        return new HhRlhfDataset(list, subset, split, sourceDescription, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static string ExpectedLayout(string directory, HhRlhfSubset subset, HhRlhfSplit split)
    {
        var first = HhRlhfLayout.Expand(subset)[0];
        return "HhRlhfDataset.LoadFromDirectoryAsync expects the directory laid out like the Hub repository: "
            + $"<directory>/<subset folder>/<split>.jsonl.gz (or .jsonl), here '{Path.Combine(directory, HhRlhfLayout.GetDirectoryName(first), HhRlhfLayout.GetSplitName(split))}.jsonl.gz'.";
    }

    /// <summary>What the directory holds instead of the expected file, with a guess at the folder meant.</summary>
    private static string DescribeDirectory(string directory, HhRlhfSubset missing, HhRlhfSplit split)
    {
        string[] subsetFolders = HhRlhfLayout.Expand(HhRlhfSubset.All).Select(HhRlhfLayout.GetDirectoryName).ToArray();
        bool IsDataFile(string name) => name.EndsWith(".jsonl.gz", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        string[] Names(IEnumerable<string> paths) => paths.Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        string List(string[] names) => names.Length <= 8 ? string.Join(", ", names) : string.Join(", ", names[..8]) + $" and {names.Length - 8} more";

        string[] dataFiles = Names(Directory.EnumerateFiles(directory).Where(f => IsDataFile(Path.GetFileName(f))));
        string[] folders = Names(Directory.EnumerateDirectories(directory));
        string[] present = folders.Where(f => subsetFolders.Contains(f, StringComparer.Ordinal)).ToArray();
        string subsetFolder = Path.Combine(directory, HhRlhfLayout.GetDirectoryName(missing));
        if (Directory.Exists(subsetFolder))
        {
            string[] inside = Names(Directory.EnumerateFiles(subsetFolder));
            return inside.Length == 0
                ? $"'{subsetFolder}' is empty."
                : $"'{subsetFolder}' holds {List(inside)}, but no {HhRlhfLayout.GetSplitName(split)}.jsonl.gz.";
        }

        if (present.Length > 0)
        {
            return $"'{directory}' holds the subset folders {string.Join(", ", present)}, but not {HhRlhfLayout.GetDirectoryName(missing)}.";
        }

        if (dataFiles.Length > 0)
        {
            string parent = Path.GetDirectoryName(Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)) ?? directory;
            return $"'{directory}' itself holds {List(dataFiles)}: it looks like a subset folder; did you mean its parent folder '{parent}'?";
        }

        string[] candidates = Directory.EnumerateDirectories(directory)
            .Where(d => subsetFolders.Any(s => Directory.Exists(Path.Combine(d, s))))
            .Order(StringComparer.Ordinal)
            .ToArray();
        // Suggest a folder that really holds the file asked for; name the others as they are.
        string wanted = Path.Combine(HhRlhfLayout.GetDirectoryName(missing), HhRlhfLayout.GetSplitName(split));
        string[] complete = [.. candidates.Where(d => File.Exists(Path.Combine(d, wanted + ".jsonl.gz")) || File.Exists(Path.Combine(d, wanted + ".jsonl")))];
        if (candidates.Length > 0)
        {
            string these = string.Join(" and ", candidates.Select(c => $"'{c}'"));
            return complete.Length > 0
                ? $"'{directory}' holds no subset folder, but {these} {(candidates.Length == 1 ? "does" : "do")}: did you mean '{complete[0]}'?"
                : $"'{directory}' holds no subset folder; {these} {(candidates.Length == 1 ? "holds" : "hold")} subset folders, but not the file asked for.";
        }

        return folders.Length + dataFiles.Length == 0
            ? $"'{directory}' is empty."
            : $"'{directory}' holds no subset folder ({string.Join(", ", subsetFolders)}); it holds {List([.. folders.Select(f => f + "/"), .. Names(Directory.EnumerateFiles(directory))])}.";
    }

    private static async Task<HhRlhfDataset> LoadFilesAsync(
        IReadOnlyList<string> files, HhRlhfSubset subset, HhRlhfSplit split, string description, CancellationToken cancellationToken)
    {
        var rows = new List<HhRlhfRow>();
        var checksums = new List<string>();
        foreach (string file in files)
        {
            checksums.Add(await ReadFileAsync(file, rows, cancellationToken).ConfigureAwait(false));
        }

        return new HhRlhfDataset(rows, subset, split, description, SourceFiles.Fingerprint(checksums));
    }

    /// <summary>
    /// Reads every row of a file (JSON Lines or Arrow) through the shared sources, strictly, and adds them to
    /// <paramref name="rows"/> only when the whole file is good; returns the file's sha256.
    /// </summary>
    private static async Task<string> ReadFileAsync(string file, List<HhRlhfRow> rows, CancellationToken cancellationToken)
    {
        var read = new List<HhRlhfRow>();
        await foreach (var row in SourceFiles.ReadAsync(file, Format.Fields, RowLimit.Default, cancellationToken).ConfigureAwait(false))
        {
            read.Add(new HhRlhfRow(RowFields.RequiredString(row, "chosen"), RowFields.RequiredString(row, "rejected")));
        }

        rows.AddRange(read);
        return await SourceFiles.Sha256Async(file, cancellationToken).ConfigureAwait(false);
    }
}
