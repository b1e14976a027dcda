namespace NewLlm;

/// <summary>
/// A language model that reads tokens one step at a time and gives the next token's logits, carrying what it has read
/// in an <see cref="IDecodingState"/>: <see cref="NewLlmModel"/> carries one context vector per sequence (constant
/// memory), <see cref="TransformerBaselineModel"/> a key/value cache per layer (one position more per token read).
/// <see cref="IncrementalGenerator"/> and <see cref="GenerationSession"/> generate with any of them.
/// </summary>
/// <remarks>
/// Decoding computes the model's inference function (no dropout, no gradient) whatever the module's
/// <c>train()</c>/<c>eval()</c> mode, which it leaves as it is. This is the inference-side abstraction; it says nothing
/// of losses or training.
/// </remarks>
public interface IIncrementalDecoder
{
    /// <summary>Number of token ids the model reads and predicts.</summary>
    int VocabSize { get; }

    /// <summary>The device of the model's parameters, where decoding states and logits live.</summary>
    Device Device { get; }

    /// <summary>A state that has read nothing yet, for <paramref name="batchSize"/> sequences; the caller owns (and disposes) it.</summary>
    /// <param name="batchSize">Number of sequences decoded together, 1 or more.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    IDecodingState StartDecoding(int batchSize = 1);

    /// <summary>
    /// Reads <paramref name="ids"/> (the next tokens of every sequence), advances <paramref name="state"/> past them in
    /// place, and returns the logits of the token after the last one.
    /// </summary>
    /// <param name="ids">Token ids, int64, [batch, n] with n &gt;= 1 and batch the state's <see cref="IDecodingState.BatchSize"/>.</param>
    /// <param name="state">A state from this model's <see cref="StartDecoding"/>.</param>
    /// <returns>Next-token logits, [batch, <see cref="VocabSize"/>], in the parameters' dtype; the caller owns them.</returns>
    /// <exception cref="ArgumentException">The ids have the wrong type or shape, an id outside the vocabulary, or the state is another model's or of another batch size.</exception>
    /// <exception cref="InvalidOperationException">The state would pass the model's longest sequence (<see cref="IDecodingState.MaxLength"/>); the state is untouched.</exception>
    Tensor DecodeNext(Tensor ids, IDecodingState state);
}
