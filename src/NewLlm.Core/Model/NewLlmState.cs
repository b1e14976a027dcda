namespace NewLlm;

/// <summary>
/// The whole recurrent state of a <see cref="NewLlmModel"/>: one context vector per sequence, shape
/// [batch, ContextDim]. Its size does not grow with the number of tokens seen. The state owns its tensor;
/// dispose it when done.
/// </summary>
public sealed class NewLlmState : IDisposable
{
    /// <summary>Wraps a context tensor of shape [batch, context]; the state takes ownership of it.</summary>
    public NewLlmState(Tensor context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.dim() != 2)
        {
            throw new ArgumentException($"A state's context must have shape [batch, context], but has shape [{string.Join(", ", context.shape)}].", nameof(context));
        }

        Context = context;
    }

    /// <summary>The context vectors, [batch, ContextDim].</summary>
    public Tensor Context { get; }

    /// <summary>Number of sequences the state tracks.</summary>
    public int BatchSize => (int)Context.shape[0];

    /// <summary>A deep copy of the state, for branching a conversation.</summary>
    public NewLlmState Clone() => new(Context.detach().clone());

    /// <inheritdoc />
    public void Dispose() => Context.Dispose();
}
