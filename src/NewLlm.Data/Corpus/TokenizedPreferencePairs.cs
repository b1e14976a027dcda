namespace NewLlm.Data;

/// <summary>
/// The <c>chosen</c> and <c>rejected</c> transcripts of each row encoded the same way as <see cref="TokenizedCorpus"/>,
/// for a preference metric (does the model give the chosen dialogue a higher likelihood than the rejected one).
/// </summary>
public sealed class TokenizedPreferencePairs
{
    private readonly TokenizedCorpus _chosen;
    private readonly TokenizedCorpus _rejected;

    private TokenizedPreferencePairs(TokenizedCorpus chosen, TokenizedCorpus rejected) => (_chosen, _rejected) = (chosen, rejected);

    /// <summary>The number of pairs.</summary>
    public int Count => _chosen.Count;

    /// <summary>The length of every row.</summary>
    public int SequenceLength => _chosen.SequenceLength;

    /// <summary>The padding id.</summary>
    public int PadId => _chosen.PadId;

    /// <summary>The kept ids (no padding) of the chosen transcript of pair <paramref name="index"/>.</summary>
    /// <param name="index">The pair.</param>
    /// <returns>At most <see cref="SequenceLength"/> ids.</returns>
    public ReadOnlySpan<int> GetChosen(int index) => _chosen.GetTokens(index);

    /// <summary>The kept ids (no padding) of the rejected transcript of pair <paramref name="index"/>.</summary>
    /// <param name="index">The pair.</param>
    /// <returns>At most <see cref="SequenceLength"/> ids.</returns>
    public ReadOnlySpan<int> GetRejected(int index) => _rejected.GetTokens(index);

    /// <summary>The ids of the chosen row that are not padding.</summary>
    /// <param name="index">The pair.</param>
    /// <returns>The length.</returns>
    public int GetChosenLength(int index) => _chosen.GetLength(index);

    /// <summary>The ids of the rejected row that are not padding.</summary>
    /// <param name="index">The pair.</param>
    /// <returns>The length.</returns>
    public int GetRejectedLength(int index) => _rejected.GetLength(index);

    /// <summary>Encodes the normalised chosen and rejected texts of every row.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="options">The options (validated).</param>
    /// <returns>The pairs.</returns>
    public static TokenizedPreferencePairs Build(HhRlhfDataset dataset, DialogueTokenizer tokenizer, TokenizedCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new TokenizedPreferencePairs(
            TokenizedCorpus.Build(dataset.GetNormalizedChosenTexts(), tokenizer, options),
            TokenizedCorpus.Build(dataset.Select(r => r.NormalizedRejected).ToArray(), tokenizer, options));
    }
}
