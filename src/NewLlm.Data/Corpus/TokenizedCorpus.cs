using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Data;

/// <summary>
/// Dialogues encoded for language modelling: one row of <see cref="SequenceLength"/> ids per dialogue (BOS, tokens,
/// EOS, truncated or padded with <see cref="PadId"/>), with each row's length and covered UTF-8 bytes.
/// </summary>
public sealed class TokenizedCorpus
{
    private readonly int[] _ids;
    private readonly int[] _lengths;
    private readonly long[] _byteCounts;

    internal TokenizedCorpus(int[] ids, int[] lengths, long[] byteCounts, int sequenceLength, int padId, int vocabSize, string tokenizerFingerprint)
    {
        _ids = ids;
        _lengths = lengths;
        _byteCounts = byteCounts;
        SequenceLength = sequenceLength;
        PadId = padId;
        VocabSize = vocabSize;
        TokenizerFingerprint = tokenizerFingerprint;
    }

    /// <summary>The number of rows (dialogues).</summary>
    public int Count => _lengths.Length;

    /// <summary>The length of every row (<see cref="TokenizedCorpusOptions.MaxSequenceLength"/>).</summary>
    public int SequenceLength { get; }

    /// <summary>The padding id.</summary>
    public int PadId { get; }

    /// <summary>The tokenizer's vocabulary size.</summary>
    public int VocabSize { get; }

    /// <summary>The <see cref="DialogueTokenizer.Fingerprint"/> of the tokenizer that encoded the rows.</summary>
    public string TokenizerFingerprint { get; }

    /// <summary>The total number of ids that are not padding.</summary>
    public long TotalTokenCount => _lengths.Sum(l => (long)l);

    /// <summary>The total UTF-8 bytes covered by the kept tokens.</summary>
    public long TotalByteCount => _byteCounts.Sum();

    /// <summary>The padded ids of a row.</summary>
    /// <param name="index">The row.</param>
    /// <returns><see cref="SequenceLength"/> ids.</returns>
    public ReadOnlySpan<int> GetRow(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _ids.AsSpan(index * SequenceLength, SequenceLength);
    }

    /// <summary>The number of ids of a row that are not padding.</summary>
    /// <param name="index">The row.</param>
    /// <returns>The length.</returns>
    public int GetLength(int index) => _lengths[index];

    /// <summary>The UTF-8 bytes of the normalised text covered by the row's kept (not truncated) tokens.</summary>
    /// <param name="index">The row.</param>
    /// <returns>The byte count.</returns>
    public long GetByteCount(int index) => _byteCounts[index];

    /// <summary>Encodes texts.</summary>
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
        int length = options.MaxSequenceLength;
        var (ids, lengths, bytes) = Encode(normalizedTexts, tokenizer, length, options.MaxDegreeOfParallelism);
        return new TokenizedCorpus(ids, lengths, bytes, length, tokenizer.PadId, tokenizer.VocabSize, tokenizer.Fingerprint);
    }

    /// <summary>
    /// Loads the encoded <c>chosen</c> texts of a dataset from an Arrow IPC cache file, or encodes them and writes the
    /// cache. The cache is keyed by the dataset's source checksum, the tokenizer fingerprint and the length; a stale or
    /// corrupt cache file is rebuilt (with a log message), never trusted.
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
        var key = new CorpusCacheKey(dataset.SourceChecksum, tokenizer.Fingerprint, options.MaxSequenceLength, tokenizer.PadId, tokenizer.VocabSize, dataset.Count);
        string path = CorpusArrowCache.GetPath(cacheDirectory, key);
        if (File.Exists(path))
        {
            try
            {
                var cached = await CorpusArrowCache.ReadAsync(path, key, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Loaded tokenized corpus ({Rows} rows) from cache {Path}", cached.Count, path);
                return cached;
            }
            catch (InvalidDataException e)
            {
                logger.LogWarning("Tokenized corpus cache {Path} is stale or corrupt ({Reason}); rebuilding it", path, e.Message);
            }
        }

        var corpus = Build(dataset.GetNormalizedChosenTexts(), tokenizer, options);
        Directory.CreateDirectory(cacheDirectory);
        await CorpusArrowCache.WriteAsync(path, key, corpus, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Tokenized {Rows} rows and wrote the cache {Path}", corpus.Count, path);
        return corpus;
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

    internal string ComputeContentSha256()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(MemoryMarshal.AsBytes(_ids.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_lengths.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_byteCounts.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static (int[] Ids, int[] Lengths, long[] Bytes) Encode(
        IReadOnlyList<string> texts, DialogueTokenizer tokenizer, int length, int maxDegreeOfParallelism)
    {
        var ids = new int[checked(texts.Count * length)];
        var lengths = new int[texts.Count];
        var bytes = new long[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i =>
        {
            string text = texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts));
            int[] row = tokenizer.EncodeDialogue(text, length, out lengths[i], out bytes[i]);
            row.CopyTo(ids, i * length);
        });
        return (ids, lengths, bytes);
    }

    private IEnumerable<LanguageModelBatch> Iterate(int batchSize, Random? random, bool bucketByLength)
    {
        int[] order = Enumerable.Range(0, Count).ToArray();
        random?.Shuffle(order);
        var batches = new List<int[]>();
        if (bucketByLength)
        {
            int[] lengths = _lengths;
            order = order.OrderBy(i => lengths[i]).ToArray(); // stable: equal lengths keep the shuffled order
        }

        for (int start = 0; start < order.Length; start += batchSize)
        {
            batches.Add(order[start..Math.Min(order.Length, start + batchSize)]);
        }

        if (bucketByLength && random is not null)
        {
            var shuffled = batches.ToArray();
            random.Shuffle(shuffled);
            batches = [.. shuffled];
        }

        foreach (int[] rows in batches)
        {
            yield return MakeBatch(rows, bucketByLength);
        }
    }

    private LanguageModelBatch MakeBatch(int[] rows, bool trim)
    {
        int steps = SequenceLength - 1;
        if (trim)
        {
            int longest = rows.Max(r => _lengths[r]);
            steps = Math.Max(1, longest - 1);
        }

        var inputs = new long[rows.Length * steps];
        var targets = new long[rows.Length * steps];
        int targetTokens = 0;
        long byteCount = 0;
        for (int b = 0; b < rows.Length; b++)
        {
            var row = GetRow(rows[b]);
            for (int t = 0; t < steps; t++)
            {
                inputs[(b * steps) + t] = row[t];
                int target = row[t + 1];
                targets[(b * steps) + t] = target;
                if (target != PadId)
                {
                    targetTokens++;
                }
            }

            byteCount += _byteCounts[rows[b]];
        }

        return new LanguageModelBatch(rows.Length, steps, inputs, targets, targetTokens, byteCount, rows);
    }
}
