namespace NewLlm;

// IIncrementalDecoder over Step: the state is one context vector per sequence, however many tokens were read.
public sealed partial class NewLlmModel : IIncrementalDecoder
{
    /// <inheritdoc />
    int IIncrementalDecoder.VocabSize => Options.VocabSize;

    /// <summary>A zero state (<see cref="CreateState"/>) as an <see cref="IDecodingState"/>; its size never grows.</summary>
    IDecodingState IIncrementalDecoder.StartDecoding(int batchSize) => new NewLlmDecodingState(this, CreateState(batchSize));

    /// <summary>Reads the ids one position at a time with <see cref="Step(Tensor, NewLlmState)"/> (the inference function whatever the mode).</summary>
    Tensor IIncrementalDecoder.DecodeNext(Tensor ids, IDecodingState state)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(state);
        if (state is not NewLlmDecodingState decoding || !ReferenceEquals(decoding.Owner, this))
        {
            throw new ArgumentException("The decoding state is not this NewLlmModel's: start one with this model's StartDecoding.", nameof(state));
        }

        CheckIds(ids);
        Tensor? logits = null;
        for (long position = 0; position < ids.shape[1]; position++)
        {
            logits?.Dispose();
            using Tensor column = ids.select(1, position);
            NewLlmStepResult result = Step(column, decoding.State);
            decoding.Advance(result.State);
            logits = result.Logits;
        }

        return logits!;
    }
}
