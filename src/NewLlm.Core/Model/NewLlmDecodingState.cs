namespace NewLlm;

/// <summary>
/// <see cref="NewLlmModel"/>'s decoding state: its <see cref="NewLlmState"/> (one context vector per sequence), replaced
/// by the next one at every step, so its size never grows.
/// </summary>
internal sealed class NewLlmDecodingState(NewLlmModel owner, NewLlmState state) : IDecodingState
{
    /// <summary>The model whose contexts these are.</summary>
    public NewLlmModel Owner { get; } = owner;

    /// <summary>The current context vectors (owned by this state).</summary>
    public NewLlmState State { get; private set; } = Kept(state);

    /// <inheritdoc />
    public int BatchSize => State.BatchSize;

    /// <inheritdoc />
    public long Length { get; private set; }

    /// <inheritdoc />
    public long? MaxLength => null;

    /// <inheritdoc />
    public long SizeInBytes => State.Context.NumberOfElements * State.Context.ElementSize;

    /// <summary>Takes the state after one more token over, disposing the previous one.</summary>
    public void Advance(NewLlmState next)
    {
        State.Dispose();
        State = Kept(next);
        Length++;
    }

    // The state outlives the dispose scope of the step that made it.
    private static NewLlmState Kept(NewLlmState state)
    {
        state.Context.DetachFromDisposeScope();
        return state;
    }

    /// <inheritdoc />
    public void Dispose() => State.Dispose();
}
