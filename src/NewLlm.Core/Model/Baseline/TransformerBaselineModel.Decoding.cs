namespace NewLlm;

// Incremental decoding with a key/value cache (IIncrementalDecoder): each token read costs one position of work.
public sealed partial class TransformerBaselineModel : IIncrementalDecoder
{
    /// <inheritdoc />
    int IIncrementalDecoder.VocabSize => Options.VocabSize;

    /// <summary>
    /// An empty key/value cache for <paramref name="batchSize"/> sequences, on the model's device, in the parameters'
    /// dtype: per layer the keys and values of every position read, [batch, heads, length, head_dim], growing by one
    /// position per token up to <see cref="TransformerBaselineOptions.MaxSeqLength"/> (the model has no position
    /// embedding further; there is no sliding window). Dispose it when done.
    /// </summary>
    /// <param name="batchSize">Number of sequences decoded together, 1 or more.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is not positive.</exception>
    public IDecodingState StartDecoding(int batchSize = 1) => new BaselineKeyValueCache(this, batchSize, _tokenEmbedding.weight!.dtype, Device);

    /// <summary>
    /// Reads <paramref name="ids"/> after the positions in <paramref name="state"/>, appends their keys and values to it,
    /// and returns the logits of the token after the last one: those of <see cref="forward"/> at that position over
    /// everything read. It computes the inference function (no dropout, no gradient) whatever the module's mode, which it
    /// leaves as it is.
    /// </summary>
    /// <param name="ids">Token ids, int64, [batch, n] with n &gt;= 1 (a whole prompt at once, or one token).</param>
    /// <param name="state">A cache from this model's <see cref="StartDecoding"/>.</param>
    /// <returns>Next-token logits, [batch, VocabSize]; the caller owns them.</returns>
    /// <exception cref="ArgumentException">The ids have the wrong type or shape, an id outside the vocabulary, or the state is not this model's cache of this batch size.</exception>
    /// <exception cref="InvalidOperationException">The sequence would pass <see cref="TransformerBaselineOptions.MaxSeqLength"/> positions; the cache is untouched.</exception>
    public Tensor DecodeNext(Tensor ids, IDecodingState state)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(state);
        if (state is not BaselineKeyValueCache cache || !ReferenceEquals(cache.Owner, this))
        {
            throw new ArgumentException("The decoding state is not this TransformerBaselineModel's: start one with this model's StartDecoding.", nameof(state));
        }

        TokenIdChecks.Ids(ids, Options.VocabSize);
        if (ids.shape[0] != cache.BatchSize)
        {
            throw new ArgumentException($"The batch of ids ({ids.shape[0]}) and of the decoding state ({cache.BatchSize}) differ.", nameof(ids));
        }

        long n = ids.shape[1];
        if (cache.Length + n > Options.MaxSeqLength)
        {
            throw new InvalidOperationException(
                $"The sequence would reach {cache.Length + n} positions, but the model has only {Options.MaxSeqLength} (TransformerBaselineOptions.MaxSeqLength): read at most {Options.MaxSeqLength - cache.Length} more tokens (a generator needs no position for its last one), start a new decoding state, or build the model with a larger MaxSeqLength.");
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        cache.Reserve(n);
        using Scalar start = cache.Length.ToScalar(), end = (cache.Length + n).ToScalar();
        Tensor positions = arange(start, end, HeldScalars.One, dtype: ScalarType.Int64, device: ids.device);
        Tensor x = _tokenEmbedding.call(ids).add(_positionEmbedding.call(positions).unsqueeze(0), HeldScalars.One);
        for (int layer = 0; layer < _blocks.Length; layer++)
        {
            x = _blocks[layer].Step(x, cache, layer);
        }

        cache.Advance(n);
        return _outputProjection.call(_lnF.call(x.select(1, n - 1))).MoveToOuterDisposeScope();
    }
}
