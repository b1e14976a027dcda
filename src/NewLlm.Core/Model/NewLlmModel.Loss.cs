namespace NewLlm;

// The training loss: the next-token cross-entropy, chunked (Model/Loss/), with the step's buffers kept in the model's workspace.
public sealed partial class NewLlmModel
{
    /// <summary>
    /// The next-token cross-entropy of <paramref name="inputs"/> against <paramref name="targets"/> of the same shape:
    /// that of <c>F.cross_entropy(forward(inputs), targets, ignore_index)</c> to float rounding, computed chunk by chunk of
    /// counted positions, so memory is O(chunk x vocabulary); the step's large buffers are kept in the model's workspace.
    /// </summary>
    /// <param name="inputs">Token ids, int64, [batch, positions].</param>
    /// <param name="targets">The next token at every position, int64, [batch, positions]: ids of the vocabulary, or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">The target id that is not counted.</param>
    /// <returns>The loss; call <c>backward()</c> on its <see cref="NewLlmLoss.Loss"/> once when gradients are recorded.</returns>
    /// <exception cref="ArgumentException">A tensor has the wrong type or shape, or an id or target is outside the vocabulary.</exception>
    public override NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex) => NextTokenLoss(inputs, targets, ignoreIndex, chunkRows: null);

    // chunkRows: given by tests; chosen from the batch and vocabulary when null.
    internal NewLlmLoss NextTokenLoss(Tensor inputs, Tensor targets, long ignoreIndex, long? chunkRows)
    {
        CheckIds(inputs);
        TokenIdChecks.Targets(targets, inputs, ignoreIndex, Options.VocabSize);
        using var scope = NewDisposeScope();
        Tensor ids = inputs.contiguous();

        // The step's large buffers come from the model's workspace; the last backward node that reads them ends the
        // lease (or this method, when nothing is recorded; or the loss's Dispose).
        WorkspaceLease? lease = _workspace.TryLease();
        try
        {
            (Tensor hidden, _) = Hidden(ids, initialContext: null, lease);
            (Tensor sum, Tensor tokenLosses, long tokens, long correct) = ChunkedCrossEntropy.Apply(
                hidden.reshape(-1, hidden.shape[2]), _tokenOutput.weight!, _tokenOutput.bias!, targets.reshape(-1), ignoreIndex, lease, releaseAfterBackward: !hidden.requires_grad, chunkRows, ProductDType);
            if (!sum.requires_grad)
            {
                lease?.Release();
            }

            var loss = new NewLlmLoss(sum, tokenLosses.view(targets.shape), tokens, correct, lease);
            loss.Loss.MoveToOuterDisposeScope();
            loss.Sum.MoveToOuterDisposeScope();
            loss.TokenLosses.MoveToOuterDisposeScope();
            return loss;
        }
        catch
        {
            lease?.Release();
            throw;
        }
    }

    /// <summary>
    /// Frees the buffers that <see cref="NextTokenLoss(Tensor, Tensor, long)"/> keeps from one training step to the next
    /// (about (L·H + 6·C + 2·H)·4 bytes per position in float32, and the output layer's gradients); the next step makes
    /// them again. A loss still alive gets NaN gradients from its backward, never freed memory. Dispose frees them too.
    /// </summary>
    public override void ReleaseTrainingBuffers() => _workspace.Clear();

    // For tests.
    internal TrainingWorkspace Workspace => _workspace;
}
