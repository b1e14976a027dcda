using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Data;

/// <summary>
/// Dialogues encoded for language modelling: per dialogue its kept ids (BOS, tokens, EOS when it fits; at most
/// <see cref="SequenceLength"/>), padded with <see cref="PadId"/> to the batch's length when batched, with each row's
/// covered UTF-8 bytes. Built in memory, or opened from its Arrow cache mapped into memory (then dispose it when done).
/// </summary>
public sealed class TokenizedCorpus : IDisposable
{
    internal TokenizedCorpus(TokenRows rows, int sequenceLength, int padId, int vocabSize, string tokenizerFingerprint)
    {
        Rows = rows;
        SequenceLength = sequenceLength;
        PadId = padId;
        VocabSize = vocabSize;
        TokenizerFingerprint = tokenizerFingerprint;
    }

    /// <summary>The number of rows (dialogues).</summary>
    public int Count => Rows.Count;

    /// <summary>The most ids a row has, and the length a batch is padded to (<see cref="TokenizedCorpusOptions.MaxSequenceLength"/>).</summary>
    public int SequenceLength { get; }

    /// <summary>The padding id.</summary>
    public int PadId { get; }

    /// <summary>The tokenizer's vocabulary size.</summary>
    public int VocabSize { get; }

    /// <summary>The <see cref="DialogueTokenizer.Fingerprint"/> of the tokenizer that encoded the rows.</summary>
    public string TokenizerFingerprint { get; }

    internal TokenRows Rows { get; }

    /// <summary>Whether the rows are read from files mapped into memory (a cache) rather than held in arrays.</summary>
    public bool IsMemoryMapped => Rows is MappedTokenRows;

    /// <summary>The total number of ids that are not padding.</summary>
    public long TotalTokenCount => Enumerable.Range(0, Count).Sum(i => (long)Rows.GetTokens(i).Length);

    /// <summary>The total UTF-8 bytes covered by the kept tokens.</summary>
    public long TotalByteCount => Enumerable.Range(0, Count).Sum(i => Rows.GetByteCount(i));

    /// <summary>The kept ids of a row (BOS, tokens, EOS when it fits), without padding.</summary>
    /// <param name="index">The row.</param>
    /// <returns>At most <see cref="SequenceLength"/> ids; valid while the corpus is not disposed.</returns>
    public ReadOnlySpan<int> GetTokens(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Rows.GetTokens(index);
    }

    /// <summary>The number of ids of a row that are not padding.</summary>
    /// <param name="index">The row.</param>
    /// <returns>The length.</returns>
    public int GetLength(int index) => GetTokens(index).Length;

    /// <summary>The UTF-8 bytes of the normalised text covered by the row's kept (not truncated) tokens.</summary>
    /// <param name="index">The row.</param>
    /// <returns>The byte count.</returns>
    public long GetByteCount(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Rows.GetByteCount(index);
    }

    /// <summary>Releases the mapped cache files (nothing for a corpus built in memory).</summary>
    public void Dispose() => Rows.Dispose();

    /// <summary>Encodes texts in memory.</summary>
    /// <param name="normalizedTexts">The whitespace-normalised dialogues.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="options">The options (validated).</param>
    /// <returns>The corpus.</returns>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid.</exception>
    public static TokenizedCorpus Build(IReadOnlyList<string> normalizedTexts, DialogueTokenizer tokenizer, TokenizedCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(normalizedTexts);
        ArgumentNullException.ThrowIfNull(tokenizer);
        OptionsFailures.ThrowIfInvalid(options, new TokenizedCorpusOptionsValidator());
        var (rows, bytes) = CorpusEncoder.Encode(normalizedTexts, tokenizer, options.MaxSequenceLength, options.MaxDegreeOfParallelism);
        return new TokenizedCorpus(new ArrayTokenRows(rows, bytes), options.MaxSequenceLength, tokenizer.PadId, tokenizer.VocabSize, tokenizer.Fingerprint);
    }

    /// <summary>
    /// Opens the encoded <c>chosen</c> texts of a dataset from their Arrow cache (mapped into memory), or encodes them
    /// and writes the cache first. The cache is keyed by the dataset's source checksum, the tokenizer fingerprint and the
    /// length, as <see cref="DialogueCorpus"/> keys the rows of the same files (the two share the entry); a stale or corrupt cache is rebuilt (with a log message), never trusted. Dispose the corpus when done.
    /// </summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="options">The options (validated).</param>
    /// <param name="cacheDirectory">The folder of the cache files (created when missing).</param>
    /// <param name="logger">A logger.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The corpus.</returns>
    public static async Task<TokenizedCorpus> LoadOrBuildAsync(
        HhRlhfDataset dataset, DialogueTokenizer tokenizer, TokenizedCorpusOptions options, string cacheDirectory,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheDirectory);
        OptionsFailures.ThrowIfInvalid(options, new TokenizedCorpusOptionsValidator());
        logger ??= NullLogger.Instance;
        var key = CorpusCacheKey.For(CorpusCacheKey.RowsOf(dataset.SourceChecksum, HhRlhfDataset.Format), tokenizer, options.MaxSequenceLength);
        if (await TryOpenCacheAsync(cacheDirectory, key, dataset.Count, logger, cancellationToken).ConfigureAwait(false) is { } cached)
        {
            return cached;
        }

        await using (var writer = CorpusCacheWriter.Create(cacheDirectory, key, tokenizer, options.MaxDegreeOfParallelism))
        {
            foreach (string text in dataset.GetNormalizedChosenTexts())
            {
                await writer.AddTextAsync(text, cancellationToken).ConfigureAwait(false);
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        logger.LogInformation(DataLogEvents.CorpusCacheWritten, "Tokenized {Rows} rows and wrote the cache {Path}", dataset.Count, CorpusArrowCache.GetIndexPath(cacheDirectory, key));
        return await CorpusArrowCache.OpenAsync(cacheDirectory, key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The cached corpus of a key, or <see langword="null"/> when there is none or it cannot be used (logged).</summary>
    internal static async Task<TokenizedCorpus?> TryOpenCacheAsync(string cacheDirectory, CorpusCacheKey key, int? expectedRows, ILogger logger, CancellationToken cancellationToken)
    {
        string path = CorpusArrowCache.GetIndexPath(cacheDirectory, key);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var cached = await CorpusArrowCache.OpenAsync(cacheDirectory, key, cancellationToken).ConfigureAwait(false);
            if (expectedRows is int rows && cached.Count != rows)
            {
                cached.Dispose();
                throw new InvalidDataException($"{cached.Count} rows; expected {rows}");
            }

            logger.LogInformation(DataLogEvents.CorpusCacheLoaded, "Loaded tokenized corpus ({Rows} rows) from cache {Path}", cached.Count, path);
            return cached;
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning(DataLogEvents.CorpusCacheRebuilt, "Tokenized corpus cache {Path} is stale or corrupt ({Reason}); rebuilding it", path, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Cuts the corpus into batches. Without shuffling, rows come in order; with it, in an order drawn from
    /// <paramref name="random"/>. With <paramref name="bucketByLength"/>, rows of similar length are grouped (the shuffled
    /// rows sorted by length, cut into batches, the batch order shuffled) and each batch is trimmed to its longest row,
    /// so short dialogues do not compute on padding. The last batch may be smaller.
    /// </summary>
    /// <param name="batchSize">Rows per batch.</param>
    /// <param name="shuffle">Whether to shuffle.</param>
    /// <param name="random">The random source (seed it for reproducible order); required when shuffling.</param>
    /// <param name="bucketByLength">Whether to group rows by length and trim trailing padding.</param>
    /// <returns>The batches.</returns>
    public IEnumerable<LanguageModelBatch> GetBatches(int batchSize, bool shuffle, Random? random, bool bucketByLength = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (shuffle && random is null)
        {
            throw new ArgumentNullException(nameof(random), "Shuffling needs a (seeded) Random.");
        }

        return Iterate(batchSize, shuffle ? random : null, bucketByLength);
    }

    private IEnumerable<LanguageModelBatch> Iterate(int batchSize, Random? random, bool bucketByLength)
    {
        int[] order = [.. Enumerable.Range(0, Count)];
        random?.Shuffle(order);
        if (bucketByLength)
        {
            order = [.. order.OrderBy(i => Rows.GetTokens(i).Length)]; // stable: equal lengths keep the shuffled order
        }

        int[][] batches = [.. order.Chunk(batchSize)];
        if (bucketByLength && random is not null)
        {
            random.Shuffle(batches);
        }

        foreach (int[] rows in batches)
        {
            yield return MakeBatch(rows, bucketByLength);
        }
    }

    private LanguageModelBatch MakeBatch(int[] rows, bool trim)
    {
        int steps = trim ? Math.Max(1, rows.Max(r => Rows.GetTokens(r).Length) - 1) : SequenceLength - 1;

        var inputs = new long[rows.Length * steps];
        var targets = new long[rows.Length * steps];
        int targetTokens = 0;
        long byteCount = 0;
        for (int b = 0; b < rows.Length; b++)
        {
            var row = Rows.GetTokens(rows[b]);
            for (int t = 0; t < steps; t++)
            {
                inputs[(b * steps) + t] = t < row.Length ? row[t] : PadId;
                int target = t + 1 < row.Length ? row[t + 1] : PadId;
                targets[(b * steps) + t] = target;
                if (target != PadId)
                {
                    targetTokens++;
                }
            }

            byteCount += Rows.GetByteCount(rows[b]);
        }

        return new LanguageModelBatch(rows.Length, steps, inputs, targets, targetTokens, byteCount, rows);
    }
}
