namespace NewLlm;

/// <summary>
/// The parameters of <see cref="NewLlmModel"/> that its recurrence reads, named as in the original's state dict
/// (the output head <c>token_output</c> is applied outside the recurrence, once for all positions).
/// </summary>
/// <param name="TokenEmbedding"><c>token_embedding.weight</c> [V, E].</param>
/// <param name="Layers"><c>fnn_layers.{3i}.weight</c> and <c>.bias</c> of every FNN layer: [H, E + C] and [H] for the first, [H, H] and [H] for the others.</param>
/// <param name="ContextUpdate"><c>context_update.weight</c> [C, H] and <c>.bias</c> [C].</param>
/// <param name="ForgetGate"><c>forget_gate.weight</c> [C, H] and <c>.bias</c> [C].</param>
/// <param name="InputGate"><c>input_gate.weight</c> [C, H] and <c>.bias</c> [C].</param>
/// <param name="ContextNorm"><c>context_norm.weight</c> and <c>.bias</c> [C].</param>
internal sealed record RecurrenceWeights(
    Tensor TokenEmbedding,
    IReadOnlyList<(Tensor Weight, Tensor Bias)> Layers,
    (Tensor Weight, Tensor Bias) ContextUpdate,
    (Tensor Weight, Tensor Bias) ForgetGate,
    (Tensor Weight, Tensor Bias) InputGate,
    (Tensor Weight, Tensor Bias) ContextNorm)
{
    /// <summary>E, the width of a token embedding.</summary>
    public long EmbedDim => TokenEmbedding.shape[1];

    /// <summary>C, the width of the context vector.</summary>
    public long ContextDim => ContextNorm.Weight.shape[0];

    /// <summary>The first FNN layer's columns that read the embedding, [H, E].</summary>
    public Tensor FirstEmbeddingWeight => Layers[0].Weight.narrow(1, 0, EmbedDim);

    /// <summary>The first FNN layer's columns that read the context, [H, C].</summary>
    public Tensor FirstContextWeight => Layers[0].Weight.narrow(1, EmbedDim, ContextDim);
}
