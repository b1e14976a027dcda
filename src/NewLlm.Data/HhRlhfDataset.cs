using System.Collections;

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
    /// A sha256 (lower-case hex) identifying the source, for cache keys: the files' fingerprint, as
    /// <see cref="DialogueCorpus.SourceChecksum"/> of the same training files; over the texts for <see cref="FromRows"/>.
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
    /// Loads from a directory laid out like the Hub repository, <c>{directory}/{subset}/{split}.jsonl.gz</c> (or
    /// <c>.jsonl</c>), or a <c>save_to_disk</c> folder, as <see cref="DialogueSource.FromDirectoryAsync"/> finds them;
    /// <see cref="HhRlhfSubset.All"/> loads the four subsets in turn.
    /// </summary>
    /// <param name="directory">The dataset root directory.</param>
    /// <param name="subset">The subset.</param>
    /// <param name="split">The split.</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="DirectoryNotFoundException"><paramref name="directory"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">A subset file is missing; the message gives the expected layout and what the directory holds instead.</exception>
    /// <exception cref="InvalidDataException">A file is corrupt; the message names the file and, for content, the 1-based line.</exception>
    public static async Task<HhRlhfDataset> LoadFromDirectoryAsync(
        string directory, HhRlhfSubset subset, HhRlhfSplit split, CancellationToken cancellationToken = default)
    {
        var source = await DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhfSplitOnly(subset, split), directory, cancellationToken).ConfigureAwait(false);
        return await LoadFilesAsync(source.TrainFiles, subset, split, string.Join(", ", source.TrainFiles), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads from the Hub repository <c>Anthropic/hh-rlhf</c> through the Hub cache, as <see cref="DialogueSource.FromHubAsync"/>
    /// gets the files: missing ones downloaded and verified against the known sha256 and size (or the Hub's own).
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
        var dataset = DialogueDataset.HhRlhfSplitOnly(subset, split);
        var source = await DialogueSource.FromHubAsync(dataset, options, progress, logger, cancellationToken).ConfigureAwait(false);
        string urls = string.Join(", ", dataset.TrainFilePatterns.Select(f => $"{source.Description}/{f}"));
        return await LoadFilesAsync(source.TrainFiles, subset, split, urls, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads a <c>datasets</c> <c>save_to_disk</c> directory: Arrow IPC stream files <c>data-*.arrow</c> with string
    /// columns <c>chosen</c> and <c>rejected</c>; of a <c>DatasetDict</c>, the folder of <paramref name="split"/>.
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

    private static async Task<HhRlhfDataset> LoadFilesAsync(
        IReadOnlyList<string> files, HhRlhfSubset subset, HhRlhfSplit split, string description, CancellationToken cancellationToken)
    {
        var rows = new List<HhRlhfRow>();
        var checksums = new List<string>();
        foreach (string file in files)
        {
            await foreach (var row in SourceFiles.ReadAsync(file, Format.Fields, RowLimit.Default, cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new HhRlhfRow(RowFields.RequiredString(row, "chosen"), RowFields.RequiredString(row, "rejected")));
            }

            checksums.Add(await SourceFiles.Sha256Async(file, cancellationToken).ConfigureAwait(false));
        }

        return new HhRlhfDataset(rows, subset, split, description, SourceFiles.Fingerprint(checksums));
    }
}
