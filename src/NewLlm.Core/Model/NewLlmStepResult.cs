namespace NewLlm;

/// <summary>Output of one streaming step: next-token logits and the state after reading the token.</summary>
/// <param name="Logits">Next-token logits, [batch, VocabSize].</param>
/// <param name="State">The state after the token; the caller owns it.</param>
public sealed record NewLlmStepResult(Tensor Logits, NewLlmState State) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        Logits.Dispose();
        State.Dispose();
    }
}
