using NewLlm.Data.Options;

namespace NewLlm.Data;

/// <summary>
/// The <c>chosen</c> and <c>rejected</c> transcripts of each row encoded the same way as <see cref="TokenizedCorpus"/>,
/// for a preference metric (does the model give the chosen dialogue a higher likelihood than the rejected one).
/// </summary>
public sealed class TokenizedPreferencePairs
{
    private readonly int[] _chosen;
    private readonly int[] _rejected;
    private readonly int[] _chosenLengths;
    private readonly int[] _rejectedLengths;

    private TokenizedPreferencePairs(int[] chosen, int[] chosenLengths, int[] rejected, int[] rejectedLengths, int sequenceLength, int padId)
    {
        _chosen = chosen;
        _chosenLengths = chosenLengths;
        _rejected = rejected;
        _rejectedLengths = rejectedLengths;
        SequenceLength = sequenceLength;
        PadId = padId;
    }

    /// <summary>The number of pairs.</summary>
    public int Count => _chosenLengths.Length;

    /// <summary>The length of every row.</summary>
    public int SequenceLength { get; }

    /// <summary>The padding id.</summary>
    public int PadId { get; }

    /// <summary>The padded ids of the chosen transcript of pair <paramref name="index"/>.</summary>
    /// <param name="index">The pair.</param>
    /// <returns><see cref="SequenceLength"/> ids.</returns>
    public ReadOnlySpan<int> GetChosen(int index) => Slice(_chosen, index);

    /// <summary>The padded ids of the rejected transcript of pair <paramref name="index"/>.</summary>
    /// <param name="index">The pair.</param>
    /// <returns><see cref="SequenceLength"/> ids.</returns>
    public ReadOnlySpan<int> GetRejected(int index) => Slice(_rejected, index);

    /// <summary>The ids of the chosen row that are not padding.</summary>
    /// <param name="index">The pair.</param>
    /// <returns>The length.</returns>
    public int GetChosenLength(int index) => _chosenLengths[index];

    /// <summary>The ids of the rejected row that are not padding.</summary>
    /// <param name="index">The pair.</param>
    /// <returns>The length.</returns>
    public int GetRejectedLength(int index) => _rejectedLengths[index];

    /// <summary>Encodes the normalised chosen and rejected texts of every row.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="options">The options (validated).</param>
    /// <returns>The pairs.</returns>
    public static TokenizedPreferencePairs Build(HhRlhfDataset dataset, DialogueTokenizer tokenizer, TokenizedCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(tokenizer);
        OptionsGuard.Validate(options, new TokenizedCorpusOptionsValidator());
        int length = options.MaxSequenceLength;
        var chosen = TokenizedCorpus.Encode(dataset.Select(r => r.NormalizedChosen).ToArray(), tokenizer, length, options.MaxDegreeOfParallelism);
        var rejected = TokenizedCorpus.Encode(dataset.Select(r => r.NormalizedRejected).ToArray(), tokenizer, length, options.MaxDegreeOfParallelism);
        return new TokenizedPreferencePairs(chosen.Ids, chosen.Lengths, rejected.Ids, rejected.Lengths, length, tokenizer.PadId);
    }

    private ReadOnlySpan<int> Slice(int[] ids, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return ids.AsSpan(index * SequenceLength, SequenceLength);
    }
}
