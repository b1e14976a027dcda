namespace NewLlm;

/// <summary>
/// The <see cref="TransformerBaselineModel"/>'s decoding state: per layer the keys and values of every position read so
/// far, [batch, heads, length, head_dim] each, one position more per token. Positions are written into a buffer whose
/// capacity doubles when full (from 16, never past the model's <see cref="TransformerBaselineOptions.MaxSeqLength"/>),
/// so a token costs one position of work and no copy of the past; <see cref="SizeInBytes"/> is that buffer's size.
/// </summary>
internal sealed class BaselineKeyValueCache : IDecodingState
{
    private const long InitialCapacity = 16;

    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;
    private readonly long _heads;
    private readonly long _headDim;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private bool _disposed;

    public BaselineKeyValueCache(TransformerBaselineModel owner, int batchSize, ScalarType dtype, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Owner = owner;
        BatchSize = batchSize;
        MaxLength = owner.Options.MaxSeqLength;
        _heads = owner.Options.NumHeads;
        _headDim = owner.Options.EmbedDim / owner.Options.NumHeads;
        _keys = new Tensor?[owner.Options.NumLayers];
        _values = new Tensor?[owner.Options.NumLayers];
        _dtype = dtype;
        _device = device;
    }

    /// <summary>The model whose positions these are.</summary>
    public TransformerBaselineModel Owner { get; }

    /// <inheritdoc />
    public int BatchSize { get; }

    /// <inheritdoc />
    public long Length { get; private set; }

    /// <inheritdoc />
    long? IDecodingState.MaxLength => MaxLength;

    /// <summary>The model's positions: the most tokens a sequence can read.</summary>
    public long MaxLength { get; }

    /// <summary>Positions the buffers hold room for (at least <see cref="Length"/>).</summary>
    public long Capacity => _keys[0]?.shape[2] ?? 0;

    /// <inheritdoc />
    public long SizeInBytes => _keys.Concat(_values).Sum(t => t is null ? 0 : t.NumberOfElements * t.ElementSize);

    /// <summary>Makes room for <paramref name="count"/> more positions (the caller has checked <see cref="MaxLength"/>).</summary>
    public void Reserve(long count)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long needed = Length + count;
        if (needed <= Capacity)
        {
            return;
        }

        long capacity = Math.Max(InitialCapacity, Capacity);
        while (capacity < needed)
        {
            capacity *= 2;
        }

        capacity = Math.Min(capacity, MaxLength);
        for (int layer = 0; layer < _keys.Length; layer++)
        {
            _keys[layer] = Grown(_keys[layer], capacity);
            _values[layer] = Grown(_values[layer], capacity);
        }
    }

    /// <summary>
    /// Writes layer <paramref name="layer"/>'s keys and values of the new positions, [batch, heads, n, head_dim], after
    /// the <see cref="Length"/> already read, and returns views of all of them, [batch, heads, Length + n, head_dim].
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        long n = keys.shape[2];
        Tensor allKeys = _keys[layer]!, allValues = _values[layer]!;
        allKeys.narrow(2, Length, n).copy_(keys);
        allValues.narrow(2, Length, n).copy_(values);
        return (allKeys.narrow(2, 0, Length + n), allValues.narrow(2, 0, Length + n));
    }

    /// <summary>Counts <paramref name="count"/> positions as read, once every layer has appended them.</summary>
    public void Advance(long count) => Length += count;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (Tensor? tensor in _keys.Concat(_values))
        {
            tensor?.Dispose();
        }
    }

    // A buffer of `capacity` positions holding the first Length positions of `old` (which it replaces and disposes).
    private Tensor Grown(Tensor? old, long capacity)
    {
        // The cache outlives the dispose scope of the step that grows it.
        Tensor grown = torch.empty([BatchSize, _heads, capacity, _headDim], dtype: _dtype, device: _device).DetachFromDisposeScope();
        if (old is not null)
        {
            grown.narrow(2, 0, Length).copy_(old.narrow(2, 0, Length));
            old.Dispose();
        }

        return grown;
    }
}
