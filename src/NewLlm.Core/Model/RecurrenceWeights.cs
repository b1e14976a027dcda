namespace NewLlm;

/// <summary>
/// The parameters of <see cref="NewLlmModel"/> that its recurrence reads, named as in the original's state dict
/// (the output head <c>token_output</c> is applied outside the recurrence, once for all positions). The first of
/// <c>Layers</c> has a weight [H, E + C], the others [H, H].
/// </summary>
internal sealed record RecurrenceWeights(
    Tensor TokenEmbedding,
    IReadOnlyList<(Tensor Weight, Tensor Bias)> Layers,
    (Tensor Weight, Tensor Bias) ContextUpdate,
    (Tensor Weight, Tensor Bias) ForgetGate,
    (Tensor Weight, Tensor Bias) InputGate,
    (Tensor Weight, Tensor Bias) ContextNorm)
{
    public long EmbedDim => TokenEmbedding.shape[1];

    public long ContextDim => ContextNorm.Weight.shape[0];

    /// <summary>The first FNN layer's columns that read the embedding, [H, E].</summary>
    public Tensor FirstEmbeddingWeight => Layers[0].Weight.narrow(1, 0, EmbedDim);

    /// <summary>The first FNN layer's columns that read the context, [H, C].</summary>
    public Tensor FirstContextWeight => Layers[0].Weight.narrow(1, EmbedDim, ContextDim);
}
