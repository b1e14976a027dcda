using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NewLlm.Data;

/// <summary>What a tokenized-corpus cache must have been built from to be used.</summary>
/// <param name="SourceChecksum">Identifies the rows: their files' checksums, and for a general source its format and selection.</param>
/// <param name="TokenizerFingerprint">The tokenizer's <see cref="DialogueTokenizer.Fingerprint"/>.</param>
/// <param name="SequenceLength">The corpus sequence length.</param>
/// <param name="PadId">The padding id.</param>
/// <param name="VocabSize">The tokenizer's vocabulary size.</param>
internal sealed record CorpusCacheKey(string SourceChecksum, string TokenizerFingerprint, int SequenceLength, int PadId, int VocabSize)
{
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

    /// <summary>A short hash of the key, for the file names.</summary>
    public string ShortHash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Join("|", ToMetadata().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value)))))[..24];
}
