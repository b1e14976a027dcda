namespace NewLlm;

/// <summary>
/// A running conversation with a model: its decoding state and the logits for the next token. With a
/// <see cref="NewLlmModel"/> the state is one context vector and feeding a token costs the same time and memory however
/// long the conversation is; with a <see cref="TransformerBaselineModel"/> it is a key/value cache that grows by one
/// position per token, up to the model's positions. The model computes its inference function (no dropout) whatever its
/// mode, which the session leaves as it is.
/// </summary>
public sealed class GenerationSession : IDisposable
{
    private readonly IIncrementalDecoder _model;
    private readonly IDecodingState _state;

    /// <summary>Starts a conversation with <paramref name="model"/> from a state that has read nothing.</summary>
    /// <param name="model">The model (a <see cref="NewLlmModel"/> or a <see cref="TransformerBaselineModel"/>).</param>
    public GenerationSession(IIncrementalDecoder model)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _state = model.StartDecoding(1);
    }

    /// <summary>Logits for the next token after everything fed so far, or null before the first token.</summary>
    public float[]? LastLogits { get; private set; }

    /// <summary>Number of tokens fed so far.</summary>
    public long TokensSeen { get; private set; }

    /// <summary>The model's decoding state (owned by the session): its <see cref="IDecodingState.SizeInBytes"/> is what the conversation holds.</summary>
    public IDecodingState State => _state;

    /// <summary>The current context vector, [1, ContextDim] (owned by the session), of a session with a <see cref="NewLlmModel"/>.</summary>
    /// <exception cref="InvalidOperationException">The session's model is not a <see cref="NewLlmModel"/> (read <see cref="State"/> instead).</exception>
    public Tensor Context => _state is NewLlmDecodingState newLlm
        ? newLlm.State.Context
        : throw new InvalidOperationException($"GenerationSession.Context is a New-LLM context vector, but this session's model is a {_model.GetType().Name}: read GenerationSession.State instead.");

    /// <summary>
    /// Why the last generation that continued this session ended (a stop string, say, which the session has read, so
    /// that a chat does not write the next speaker's label again); null before one has ended, and while one runs, or
    /// when it was cancelled or not read to its end.
    /// </summary>
    public GenerationStopReason? StopReason { get; internal set; }

    /// <summary>
    /// Whether the last generation's last token was left unread because the model had no position for it (it stopped at
    /// <see cref="GenerationStopReason.PositionLimit"/>, or at the end of text or a stop there): such a session cannot be continued.
    /// </summary>
    internal bool LastTokenUnread { get; set; }

    /// <summary>Reads one token and updates the state (with the inference function, whatever the model's mode).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The token is outside the vocabulary.</exception>
    /// <exception cref="InvalidOperationException">The model has no position left for it (a <see cref="TransformerBaselineModel"/>'s MaxSeqLength); the session is untouched.</exception>
    public void Feed(int token)
    {
        if (token < 0 || token >= _model.VocabSize)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"Token id {token} is outside the vocabulary [0, {_model.VocabSize}).");
        }

        using var scope = NewDisposeScope();
        using Tensor ids = tensor(new long[] { token }, dtype: ScalarType.Int64, device: _model.Device).view(1, 1);

        // The logits and their converted copies are disposed with the scope, so memory per token is the state's only.
        Tensor logits = _model.DecodeNext(ids, _state);
        LastLogits = logits.select(0, 0).to(ScalarType.Float32).cpu().data<float>().ToArray();
        TokensSeen++;
    }

    /// <inheritdoc />
    public void Dispose() => _state.Dispose();
}
