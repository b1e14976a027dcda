namespace NewLlm;

/// <summary>
/// The weight gradients one row thread of <see cref="RecurrenceLoops.Backward"/> accumulates over its rows and
/// every position; the threads' sums are added in row order at the end.
/// </summary>
internal sealed class ThreadGradients : IDisposable
{
    /// <summary>Zeroed sums for <paramref name="layers"/> FNN layers; a table gradient [tableRows, hidden] when tableRows > 0.</summary>
    public ThreadGradients(int layers, long hidden, long context, long tableRows, ScalarType dtype, Device device)
    {
        Tensor Zeros(params long[] shape) => zeros(shape, dtype: dtype, device: device);
        HeadWeight = Zeros(3 * context, hidden);
        HeadBias = Zeros(3 * context);
        ContextWeight = Zeros(hidden, context);
        NormWeight = Zeros(context);
        NormBias = Zeros(context);
        LayerWeights = new Tensor[layers];
        LayerBiases = new Tensor[layers];
        for (int l = 1; l < layers; l++)
        {
            LayerWeights[l] = Zeros(hidden, hidden);
            LayerBiases[l] = Zeros(hidden);
        }

        Table = tableRows > 0 ? Zeros(tableRows, hidden) : null;
    }

    /// <summary>The fused heads' weight [3C, H] (rows: context_update, forget_gate, input_gate).</summary>
    public Tensor HeadWeight { get; }

    public Tensor HeadBias { get; }

    /// <summary>The first layer's context columns [H, C].</summary>
    public Tensor ContextWeight { get; }

    public Tensor NormWeight { get; }

    public Tensor NormBias { get; }

    /// <summary>The weight [H, H] of FNN layer l, for l >= 1 (index 0 unused).</summary>
    public Tensor[] LayerWeights { get; }

    /// <summary>The bias [H] of FNN layer l, for l >= 1 (index 0 unused).</summary>
    public Tensor[] LayerBiases { get; }

    /// <summary>The first layer's table [N, H], or null when the table gets no gradient or one shared tensor collects it.</summary>
    public Tensor? Table { get; }

    /// <summary>
    /// Takes the bias and LayerNorm sums the fused kernels keep in doubles: <paramref name="biasSums"/> holds the heads'
    /// bias [3C] then each further layer's bias [H]; <paramref name="normSums"/> the LayerNorm weight [C] then bias [C].
    /// </summary>
    public void TakeSums(double[] biasSums, double[] normSums)
    {
        long c = NormWeight.shape[0];
        Set(HeadBias, biasSums.AsSpan(0, (int)(3 * c)));
        for (int l = 1; l < LayerBiases.Length; l++)
        {
            long hidden = LayerBiases[l].shape[0];
            Set(LayerBiases[l], biasSums.AsSpan((int)((3 * c) + ((l - 1) * hidden)), (int)hidden));
        }

        Set(NormWeight, normSums.AsSpan(0, (int)c));
        Set(NormBias, normSums.AsSpan((int)c, (int)c));
    }

    public void Add(ThreadGradients other)
    {
        foreach ((Tensor mine, Tensor theirs) in Tensors().Zip(other.Tensors()))
        {
            mine.add_(theirs, HeldScalars.One);
        }
    }

    public void Dispose()
    {
        foreach (Tensor sum in Tensors())
        {
            sum.Dispose();
        }
    }

    // Rounds the double sums to the tensor's dtype.
    private static void Set(Tensor destination, ReadOnlySpan<double> values)
    {
        using Tensor source = tensor(values.ToArray());
        destination.copy_(source);
    }

    private IEnumerable<Tensor> Tensors() =>
        new[] { HeadWeight, HeadBias, ContextWeight, NormWeight, NormBias, Table }.Concat(LayerWeights.Skip(1)).Concat(LayerBiases.Skip(1)).OfType<Tensor>();
}
