namespace NewLlm;

// The training loss: New-LLM's chunked next-token cross-entropy (Model/Loss/) on the final LayerNorm's output.
public sealed partial class TransformerBaselineModel
{
    /// <summary>
    /// The next-token cross-entropy of <c>ids[:, :-1]</c> against <c>ids[:, 1:]</c>, targets equal to
    /// <paramref name="ignoreIndex"/> not counted, computed chunk by chunk of positions as
    /// <see cref="NewLlmModel.NextTokenLoss(Tensor, long)"/> does, so the logits of the whole batch never exist.
    /// </summary>
    /// <param name="ids">Token ids, int64, [batch, time] with 2 &lt;= time &lt;= <see cref="TransformerBaselineOptions.MaxSeqLength"/> + 1.</param>
    /// <param name="ignoreIndex">The target id that is not counted (the PAD id; 0 in the original).</param>
    /// <returns>The loss; call <c>backward()</c> on its <see cref="NewLlmLoss.Loss"/> once when gradients are recorded.</returns>
    /// <exception cref="ArgumentException">The ids have the wrong type or shape, fewer than 2 or too many positions, or an id outside the vocabulary.</exception>
#pragma warning disable RS0027 // As NewLlmModel: the ids form has the common default (PAD id 0, the original's); the inputs/targets form takes the id explicitly.
    public NewLlmLoss NextTokenLoss(Tensor ids, long ignoreIndex = 0)
#pragma warning restore RS0027
    {
        (Tensor inputs, Tensor targets) = TokenIdChecks.NextTokenPairs(ids, Options.VocabSize);
        using (inputs)
        using (targets)
        {
            return NextTokenLoss(inputs, targets, ignoreIndex);
        }
    }

    /// <summary>The next-token cross-entropy of <paramref name="inputs"/> against <paramref name="targets"/> of the same shape, as <see cref="NextTokenLoss(Tensor, long)"/>.</summary>
    /// <param name="inputs">Token ids, int64, [batch, positions] with positions at most <see cref="TransformerBaselineOptions.MaxSeqLength"/>.</param>
    /// <param name="targets">The next token at every position, int64, [batch, positions]: ids of the vocabulary, or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">The target id that is not counted.</param>
    /// <returns>The loss; call <c>backward()</c> on its <see cref="NewLlmLoss.Loss"/> once when gradients are recorded.</returns>
    /// <exception cref="ArgumentException">A tensor has the wrong type or shape, too many positions, or an id or target outside the vocabulary.</exception>
    public NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex) => NextTokenLoss(inputs, targets, ignoreIndex, chunkRows: null);

    // chunkRows: given by tests; chosen from the batch and vocabulary when null.
    internal NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex, long? chunkRows)
    {
        TokenIdChecks.Ids(inputs, Options.VocabSize);
        TokenIdChecks.Targets(targets, inputs, ignoreIndex, Options.VocabSize);
        using var scope = NewDisposeScope();
        Tensor hidden = Hidden(inputs.contiguous());
        (Tensor sum, Tensor tokenLosses, long tokens, long correct) = ChunkedCrossEntropy.Apply(
            hidden.reshape(-1, hidden.shape[2]), _outputProjection.weight!, _outputProjection.bias!, targets.reshape(-1), ignoreIndex, lease: null, releaseAfterBackward: true, chunkRows);
        var loss = new NewLlmLoss(sum, tokenLosses.view(targets.shape), tokens, correct, lease: null);
        loss.Loss.MoveToOuterDisposeScope();
        loss.Sum.MoveToOuterDisposeScope();
        loss.TokenLosses.MoveToOuterDisposeScope();
        return loss;
    }
}
