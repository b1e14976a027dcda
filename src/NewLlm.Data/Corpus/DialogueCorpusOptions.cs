namespace NewLlm.Data;

/// <summary>How a <see cref="DialogueCorpus"/> is selected, split, and encoded; the defaults are the original's.</summary>
public sealed class DialogueCorpusOptions
{
    /// <summary>The default <see cref="MaxRowBytes"/>: 1 MiB.</summary>
    public const int DefaultMaxRowBytes = 1 << 20;

    /// <summary>The largest <see cref="MaxRowBytes"/>: 512 MiB.</summary>
    public const int MaxRowBytesLimit = 1 << 29;

    /// <summary>Ids per dialogue (BOS, tokens, EOS; truncated). Default 128.</summary>
    public int MaxSequenceLength { get; set; } = 128;

    /// <summary>The word-level vocabulary size (with the 4 special ids) when the vocabulary is built. Default 1000.</summary>
    public int VocabularySize { get; set; } = WordLevelTokenizer.DefaultVocabularySize;

    /// <summary>
    /// Keep the first N training rows and the first N/10 test rows (the original's <c>--max_samples</c>); for a mixture,
    /// N rows in all. <see langword="null"/>: all rows.
    /// </summary>
    public int? MaxSamples { get; set; }

    /// <summary>The test share of a set without test files (<c>train_test_split(test_size)</c>). Default 0.1.</summary>
    public double TestSize { get; set; } = DatasetSplit.DefaultTestSize;

    /// <summary>The seed of that split (<c>train_test_split(seed)</c>). Default 42.</summary>
    public ulong SplitSeed { get; set; } = DatasetSplit.DefaultSeed;

    /// <summary>
    /// How much more of the text a given (for example a checkpoint's) word-level vocabulary may leave unknown than a
    /// vocabulary rebuilt from the new rows would, before a warning says so. Default 0.05 (5 percentage points).
    /// </summary>
    public double UnknownRateWarningMargin { get; set; } = 0.05;

    /// <summary>Threads for encoding. Default one per processor.</summary>
    public int MaxDegreeOfParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// The largest row a source file may hold, in bytes as stored (a JSON Lines line; an Arrow or Parquet row's strings);
    /// default 1 MiB, between 1 KiB and 512 MiB. A larger row is an <see cref="InvalidDataException"/> naming the file, the
    /// row and this option, raised before the row is held whole or parsed: only <see cref="MaxSequenceLength"/> tokens of a
    /// row are kept. HH-RLHF's and Dolly's rows are at most tens of KB, UltraChat's dialogues about 7 KB on average.
    /// </summary>
    public int MaxRowBytes { get; set; } = DefaultMaxRowBytes;
}
