namespace NewLlm.Data;

/// <summary>Encodes a chunk of texts to rows of kept ids in parallel (what a corpus and its cache hold).</summary>
internal static class CorpusEncoder
{
    /// <summary>Encodes each text as BOS, tokens, EOS when it fits, truncated to <paramref name="length"/>.</summary>
    public static (int[][] Rows, long[] ByteCounts) Encode(IReadOnlyList<string> texts, DialogueTokenizer tokenizer, int length, int maxDegreeOfParallelism)
    {
        var rows = new int[texts.Count][];
        var bytes = new long[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, i =>
        {
            string text = texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts));
            int[] padded = tokenizer.EncodeDialogue(text, length, out int kept, out bytes[i]);
            rows[i] = kept == padded.Length ? padded : padded[..kept];
        });
        return (rows, bytes);
    }
}
