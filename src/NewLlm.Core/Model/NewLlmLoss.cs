namespace NewLlm;

/// <summary>
/// The next-token cross-entropy of a batch, from <see cref="LanguageModel.NextTokenLoss(Tensor, long)"/>: computed
/// chunk by chunk of positions, so that the logits of the whole batch [batch, positions, vocabulary] never exist.
/// </summary>
/// <remarks>
/// <see cref="Loss"/> and <see cref="Sum"/> are in the autograd graph when gradients are recorded; call <c>backward()</c>
/// on one of them (or an expression of them). The step's large buffers belong to the model and are reused by its next
/// loss once this loss's backward has run (or it is disposed); a loss made while another still needs them gets fresh
/// ones. A retained graph backwarded again after a later loss has reused the buffers gets NaN gradients, not wrong ones.
/// </remarks>
public sealed class NewLlmLoss : IDisposable
{
    private readonly WorkspaceLease? _lease;

    internal NewLlmLoss(Tensor sum, Tensor tokenLosses, long tokenCount, long correctCount, WorkspaceLease? lease)
    {
        _lease = lease;
        Sum = sum;
        TokenLosses = tokenLosses;
        TokenCount = tokenCount;
        CorrectCount = correctCount;
        using Scalar divisor = tokenCount.ToScalar();
        Loss = tokenCount == 0 ? sum.mul(divisor) : sum.div(divisor); // no counted target: 0, still in the graph
    }

    /// <summary>About how many bytes one chunk's logits take: large enough for efficient matrix products, small next to a batch's logits.</summary>
    public const long ChunkBytes = 16L << 20;

    /// <summary>The fewest positions in a chunk (for a large vocabulary), so that the matrix products stay efficient.</summary>
    public const long MinChunkPositions = 256;

    /// <summary>
    /// How many positions one chunk of the loss computes at a time: about <see cref="ChunkBytes"/> of logits, at least
    /// <see cref="MinChunkPositions"/>, at most <paramref name="positions"/>.
    /// </summary>
    /// <param name="positions">Positions in the batch (batch x positions per sequence).</param>
    /// <param name="vocabSize">The vocabulary size.</param>
    /// <param name="elementBytes">Bytes per element of the computation (4 for float32).</param>
    public static long ChunkPositions(long positions, long vocabSize, long elementBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positions);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(elementBytes);
        return Math.Min(positions, Math.Max(MinChunkPositions, ChunkBytes / (vocabSize * elementBytes)));
    }

    /// <summary>The mean cross-entropy over the targets that are not ignored, a scalar in the parameters' dtype (0 when every target is ignored).</summary>
    public Tensor Loss { get; }

    /// <summary>The summed cross-entropy over the targets that are not ignored, a scalar (for weighting batches by their token counts).</summary>
    public Tensor Sum { get; }

    /// <summary>Every target's cross-entropy, [batch, positions], 0 at ignored targets; not in the autograd graph.</summary>
    public Tensor TokenLosses { get; }

    /// <summary>The number of targets that are not ignored.</summary>
    public long TokenCount { get; }

    /// <summary>How many of those targets are the logits' argmax (for accuracy: <c>CorrectCount / TokenCount</c>).</summary>
    public long CorrectCount { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        _lease?.Release();
        Loss.Dispose();
        Sum.Dispose();
        TokenLosses.Dispose();
    }
}
