namespace NewLlm.Data;

/// <summary>What a tokenized-corpus cache must have been built from to be used.</summary>
/// <param name="SourceChecksum">Identifies the rows: their files' checksums, and for a general source its format and selection.</param>
/// <param name="TokenizerFingerprint">The tokenizer's <see cref="DialogueTokenizer.Fingerprint"/>.</param>
/// <param name="SequenceLength">The corpus sequence length.</param>
/// <param name="PadId">The padding id.</param>
/// <param name="VocabSize">The tokenizer's vocabulary size.</param>
internal sealed record CorpusCacheKey(string SourceChecksum, string TokenizerFingerprint, int SequenceLength, int PadId, int VocabSize)
{
    /// <summary>The key of rows (what they are: see <see cref="RowsOf"/>) encoded by a tokenizer to a sequence length.</summary>
    public static CorpusCacheKey For(string rows, DialogueTokenizer tokenizer, int sequenceLength) =>
        new(rows, tokenizer.Fingerprint, sequenceLength, tokenizer.PadId, tokenizer.VocabSize);

    /// <summary>
    /// What the rows of files taken whole are: their <see cref="SourceFiles.Fingerprint"/> and how a row becomes text, so
    /// that an <see cref="HhRlhfDataset"/> and a <see cref="DialogueCorpus"/> of the same files share one cache entry.
    /// </summary>
    public static string RowsOf(string filesFingerprint, DialogueFormat format) => $"{filesFingerprint}|{format.Description}";

    /// <summary>The key as schema metadata entries.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        ["newllm.format"] = CorpusArrowCache.FormatName,
        ["newllm.source_checksum"] = SourceChecksum,
        ["newllm.tokenizer_fingerprint"] = TokenizerFingerprint,
        ["newllm.sequence_length"] = SequenceLength.ToString(CultureInfo.InvariantCulture),
        ["newllm.pad_id"] = PadId.ToString(CultureInfo.InvariantCulture),
        ["newllm.vocab_size"] = VocabSize.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Throws when a stored entry of the key (read by <paramref name="stored"/>) differs from this key's.</summary>
    public void Verify(Func<string, string?> stored, string prefix)
    {
        foreach (var (k, v) in ToMetadata())
        {
            string? value = stored(k);
            if (value != v)
            {
                throw new InvalidDataException($"{prefix}cache key '{k}' is '{value ?? "(missing)"}', expected '{v}'");
            }
        }
    }

    /// <summary>A short hash of the key, for the file names.</summary>
    public string ShortHash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join("|", ToMetadata().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)))))[..24];
}
