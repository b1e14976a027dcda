namespace NewLlm;

// The training loss: New-LLM's chunked next-token cross-entropy (Model/Loss/) on the final LayerNorm's output.
public sealed partial class TransformerBaselineModel
{
    /// <summary>The next-token cross-entropy of <paramref name="inputs"/> against <paramref name="targets"/> of the same shape, computed chunk by chunk of positions as <see cref="NewLlmModel"/>'s is, so the logits of the whole batch never exist.</summary>
    /// <param name="inputs">Token ids, int64, [batch, positions] with positions at most <see cref="TransformerBaselineOptions.MaxSeqLength"/>.</param>
    /// <param name="targets">The next token at every position, int64, [batch, positions]: ids of the vocabulary, or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">The target id that is not counted.</param>
    /// <returns>The loss; call <c>backward()</c> on its <see cref="NewLlmLoss.Loss"/> once when gradients are recorded.</returns>
    /// <exception cref="ArgumentException">A tensor has the wrong type or shape, too many positions, or an id or target outside the vocabulary.</exception>
    public override NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex) => NextTokenLoss(inputs, targets, ignoreIndex, chunkRows: null);

    // chunkRows: given by tests; chosen from the batch and vocabulary when null.
    internal NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex, long? chunkRows)
    {
        TokenIdChecks.Ids(inputs, Options.VocabSize);
        TokenIdChecks.Targets(targets, inputs, ignoreIndex, Options.VocabSize);
        using var scope = NewDisposeScope();
        Tensor hidden = Hidden(inputs.contiguous());
        (Tensor sum, Tensor tokenLosses, long tokens, long correct) = ChunkedCrossEntropy.Apply(
            hidden.reshape(-1, hidden.shape[2]), _outputProjection.weight!, _outputProjection.bias!, targets.reshape(-1), ignoreIndex, lease: null, releaseAfterBackward: true, chunkRows, ProductDType);
        var loss = new NewLlmLoss(sum, tokenLosses.view(targets.shape), tokens, correct, lease: null);
        loss.Loss.MoveToOuterDisposeScope();
        loss.Sum.MoveToOuterDisposeScope();
        loss.TokenLosses.MoveToOuterDisposeScope();
        return loss;
    }
}
