namespace NewLlm.Data;

/// <summary>
/// A batch for next-token prediction: row-major <c>[BatchSize, SequenceLength]</c> inputs (ids[:-1]) and targets
/// (ids[1:]); padding targets carry the corpus' pad id and are to be ignored by the loss.
/// </summary>
public sealed class LanguageModelBatch
{
    /// <summary>Creates a batch (normally made by <see cref="TokenizedCorpus.GetBatches"/>).</summary>
    /// <param name="batchSize">The number of rows.</param>
    /// <param name="sequenceLength">The time steps.</param>
    /// <param name="inputs">Row-major input ids, <paramref name="batchSize"/> x <paramref name="sequenceLength"/>.</param>
    /// <param name="targets">Row-major target ids, the same shape.</param>
    /// <param name="targetTokenCount">The targets that are not padding.</param>
    /// <param name="byteCount">The UTF-8 bytes the rows cover.</param>
    /// <param name="rowIndices">The corpus rows, <paramref name="batchSize"/> of them.</param>
    public LanguageModelBatch(int batchSize, int sequenceLength, long[] inputs, long[] targets, int targetTokenCount, long byteCount, int[] rowIndices)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(rowIndices);
        if (inputs.Length != batchSize * sequenceLength || targets.Length != inputs.Length || rowIndices.Length != batchSize)
        {
            throw new ArgumentException("inputs and targets must hold batchSize x sequenceLength ids and rowIndices batchSize rows.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(targetTokenCount);
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        Inputs = inputs;
        Targets = targets;
        TargetTokenCount = targetTokenCount;
        ByteCount = byteCount;
        RowIndices = rowIndices;
    }

    /// <summary>The number of rows.</summary>
    public int BatchSize { get; }

    /// <summary>The time steps: the corpus length - 1, or less when length bucketing trims trailing padding.</summary>
    public int SequenceLength { get; }

    /// <summary>Input ids, row-major <c>[BatchSize, SequenceLength]</c>: ids[0..SequenceLength).</summary>
    public long[] Inputs { get; }

    /// <summary>Target ids, row-major <c>[BatchSize, SequenceLength]</c>: ids[1..SequenceLength].</summary>
    public long[] Targets { get; }

    /// <summary>The number of targets that are not padding (the tokens the loss averages over).</summary>
    public int TargetTokenCount { get; }

    /// <summary>UTF-8 bytes of text the rows' kept tokens cover (the denominator of bits per byte).</summary>
    public long ByteCount { get; }

    /// <summary>The corpus rows in the batch, in batch order.</summary>
    public int[] RowIndices { get; }
}
