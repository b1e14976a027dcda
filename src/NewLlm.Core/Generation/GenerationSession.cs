namespace NewLlm;

/// <summary>
/// A running conversation with a <see cref="NewLlmModel"/>: its state (one context vector) and the logits
/// for the next token. Feeding a token costs the same time and memory however long the conversation is. The model
/// computes its inference function (no dropout) whatever its mode, which the session leaves as it is.
/// </summary>
/// <param name="model">The model; the session starts from its zero state.</param>
public sealed class GenerationSession(NewLlmModel model) : IDisposable
{
    private readonly NewLlmModel _model = model ?? throw new ArgumentNullException(nameof(model));
    private NewLlmState _state = model.CreateState(1);

    /// <summary>Logits for the next token after everything fed so far, or null before the first token.</summary>
    public float[]? LastLogits { get; private set; }

    /// <summary>Number of tokens fed so far.</summary>
    public long TokensSeen { get; private set; }

    /// <summary>The current context vector, [1, ContextDim] (owned by the session).</summary>
    public Tensor Context => _state.Context;

    /// <summary>
    /// Why the last generation that continued this session ended (a stop string, say, which the session has read, so
    /// that a chat does not write the next speaker's label again); null before one has ended, and while one runs, or
    /// when it was cancelled or not read to its end.
    /// </summary>
    public GenerationStopReason? StopReason { get; internal set; }

    /// <summary>Reads one token and updates the state (with the inference function, whatever the model's mode).</summary>
    public void Feed(int token)
    {
        if (token < 0 || token >= _model.Options.VocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"Token id {token} is outside the vocabulary [0, {_model.Options.VocabSize}).");
        }

        NewLlmStepResult result = _model.Step(token, _state);
        using (var scope = NewDisposeScope())
        {
            // Dispose the logits and their converted copies now, so memory per token stays constant.
            LastLogits = result.Logits.to(ScalarType.Float32).cpu().data<float>().ToArray();
            result.Logits.Dispose();
        }

        // The session takes the new state over; the old one is no longer needed.
        _state.Dispose();
        _state = result.State;
        TokensSeen++;
    }

    /// <inheritdoc />
    public void Dispose() => _state.Dispose();
}
