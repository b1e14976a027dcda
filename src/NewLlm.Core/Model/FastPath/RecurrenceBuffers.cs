namespace NewLlm;

/// <summary>
/// What the recurrence's forward loop writes and its backward reads: the inputs (as the strategy prepared them),
/// the hidden states of every FNN layer after dropout [B, T, H], the gates [B, T, 3C] (<c>[u, f, i]</c>, f and i
/// after bias and sigmoid) and the context after every position [B, T, C]. The backward recomputes the mixture and
/// its normalisation from these, and needs no dropout masks: h &gt; 0 exactly where both the ReLU and the mask
/// passed, and the mask's value there is 1 / (1 - p).
/// </summary>
internal sealed record RecurrenceBuffers(RecurrenceInputs Inputs, Tensor[] Hidden, Tensor Gates, Tensor Contexts)
{
    public long Batch => Gates.shape[0];

    public long Time => Gates.shape[1];

    public long HiddenDim => Hidden[0].shape[2];

    public long ContextDim => Contexts.shape[2];

    public int Layers => Hidden.Length;

    /// <summary>Uninitialised buffers in the table's dtype and device: the workspace's when there is a <paramref name="lease"/>, fresh ones otherwise.</summary>
    public static RecurrenceBuffers Allocate(RecurrenceInputs inputs, WorkspaceLease? lease)
    {
        long batch = inputs.Index.shape[0], time = inputs.Index.shape[1], hidden = inputs.Table.shape[1], c = inputs.InitialContext.shape[1];
        Tensor Buffer(string name, long width) => WorkspaceLease.Buffer(lease, name, [batch, time, width], inputs.Table.dtype, inputs.Table.device);

        // B-major, so that the last layer's hidden states are the output without a transpose.
        Tensor[] h = Enumerable.Range(0, inputs.Layers).Select(l => Buffer($"recurrence.hidden{l}", hidden)).ToArray();
        return new RecurrenceBuffers(inputs, h, Buffer("recurrence.gates", 3 * c), Buffer("recurrence.contexts", c));
    }

    /// <summary>The autograd function's saved tensors: the inputs in their positional order, the gates, the contexts, then the hidden states of every layer.</summary>
    public List<Tensor> ToSaved() => Inputs.Tensors().Append(Gates).Append(Contexts).Concat(Hidden).ToList();

    /// <summary>Reads what <see cref="ToSaved"/> saved for an <paramref name="layers"/>-layer recurrence.</summary>
    public static RecurrenceBuffers FromSaved(List<Tensor> saved, int layers)
    {
        int k = RecurrenceInputs.Count(layers);
        return new RecurrenceBuffers(RecurrenceInputs.Read(saved, 0, layers), saved.GetRange(k + 2, layers).ToArray(), saved[k], saved[k + 1]);
    }
}
