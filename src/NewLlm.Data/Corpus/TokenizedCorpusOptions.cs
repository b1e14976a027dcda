namespace NewLlm.Data;

/// <summary>How dialogues become fixed-length id rows for language modelling.</summary>
public sealed class TokenizedCorpusOptions
{
    /// <summary>The length of every row (BOS, tokens, EOS, truncated or padded to it); default 128, from 2 to 1,048,576.</summary>
    public int MaxSequenceLength { get; set; } = 128;

    /// <summary>How many threads tokenize; default -1 for all processors, or 1 and more.</summary>
    public int MaxDegreeOfParallelism { get; set; } = -1;
}
