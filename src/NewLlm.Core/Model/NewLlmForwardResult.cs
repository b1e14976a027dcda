namespace NewLlm;

/// <summary>Output of <see cref="NewLlmModel.ForwardWithContexts"/>.</summary>
/// <param name="Logits">Next-token logits, [batch, time, VocabSize].</param>
/// <param name="Contexts">
/// The context trajectory, [batch, time, ContextDim]: entry t is the context after reading token t
/// (the one used to predict token t + 2). The last entry is the final state.
/// </param>
public sealed record NewLlmForwardResult(Tensor Logits, Tensor Contexts) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Logits.Dispose();
        Contexts.Dispose();
    }
}
