namespace NewLlm;

// Inference with an explicit state: the contexts of a forward, and one token at a time.
public sealed partial class NewLlmModel
{
    /// <summary>Like <see cref="forward"/>, and also returns the context vector after every position.</summary>
    /// <param name="input">Token ids, int64, [batch, time].</param>
    /// <param name="initialState">State to start from (for continuing a stream); zeros when null. Not modified.</param>
    public NewLlmForwardResult ForwardWithContexts(Tensor input, NewLlmState? initialState = null)
    {
        using var scope = NewDisposeScope();
        (Tensor logits, Tensor contexts) = Run(input, initialState?.Context);
        return new NewLlmForwardResult(logits.MoveToOuterDisposeScope(), contexts.MoveToOuterDisposeScope());
    }

    /// <summary>A zero state (c_0) for <paramref name="batchSize"/> sequences, on the model's device.</summary>
    public NewLlmState CreateState(int batchSize = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        return new NewLlmState(zeros(batchSize, Options.ContextDim, dtype: _tokenEmbedding.weight!.dtype, device: Device));
    }

    /// <summary>
    /// Reads one token per sequence and returns the next-token logits and the new state. Memory does not grow
    /// with the number of steps: the state is one context vector per sequence. It computes the inference function
    /// whatever the module's mode: no dropout, no gradient, in the parameters' dtype; the mode is left as it is.
    /// </summary>
    /// <param name="tokens">Token ids, int64, [batch].</param>
    /// <param name="state">The current state; not modified (the result carries a new one).</param>
    public NewLlmStepResult Step(Tensor tokens, NewLlmState state)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(state);
        if (tokens.dim() != 1)
        {
            throw new ArgumentException($"Step takes one token id per sequence, shape [batch], but got shape [{string.Join(", ", tokens.shape)}].", nameof(tokens));
        }

        if (tokens.shape[0] != state.BatchSize)
        {
            throw new ArgumentException($"The batch of tokens ({tokens.shape[0]}) and of the state ({state.BatchSize}) differ.", nameof(tokens));
        }

        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        (Tensor logits, Tensor contexts) = Run(tokens.unsqueeze(1), state.Context, inference: true);
        Tensor next = contexts.select(1, 0).contiguous();
        return new NewLlmStepResult(logits.select(1, 0).contiguous().MoveToOuterDisposeScope(), new NewLlmState(next.MoveToOuterDisposeScope()));
    }

    /// <summary>Convenience overload of <see cref="Step(Tensor, NewLlmState)"/> for a single sequence (the inference function too, whatever the mode).</summary>
    public NewLlmStepResult Step(long token, NewLlmState state)
    {
        using Tensor tokens = tensor(new[] { token }, dtype: ScalarType.Int64, device: Device);
        return Step(tokens, state);
    }
}
