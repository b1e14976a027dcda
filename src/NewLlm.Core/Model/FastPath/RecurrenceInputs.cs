namespace NewLlm;

/// <summary>
/// The tensors <see cref="RecurrenceFunction"/> reads, and the one place that knows their positional order (8 + 2 (L - 1)
/// tensors): the autograd function's arguments after its settings, the start of its saved tensors and its gradients
/// (null where an input gets none) all follow it. <c>Table</c> [N, H] is the first layer's pre-activation without its
/// context share (embedding share plus bias), per vocabulary entry or per position, and <c>Index</c> [B, T] each
/// position's row of it; Wc [H, C] is the first layer's context columns; Wh [3C, H] and bh [3C] the three context heads
/// (rows: context_update, forget_gate, input_gate); gamma and beta [C] the LayerNorm; then W [H, H] and b [H] of layers 2 to L.
/// </summary>
internal readonly record struct RecurrenceInputs(
    Tensor Index,
    Tensor Table,
    Tensor InitialContext,
    Tensor ContextWeight,
    Tensor HeadWeight,
    Tensor HeadBias,
    Tensor NormWeight,
    Tensor NormBias,
    IReadOnlyList<(Tensor Weight, Tensor Bias)> DeeperLayers)
{
    private const int FirstLayerTensors = 8;

    public int Layers => DeeperLayers.Count + 1;

    /// <summary>How many tensors the list of an <paramref name="layers"/>-layer recurrence holds.</summary>
    public static int Count(int layers) => FirstLayerTensors + (2 * (layers - 1));

    /// <summary>Layers count from 0: 1 to L - 1.</summary>
    public Tensor LayerWeight(int layer) => DeeperLayers[layer - 1].Weight;

    public Tensor LayerBias(int layer) => DeeperLayers[layer - 1].Bias;

    /// <summary>Reads the list of an <paramref name="layers"/>-layer recurrence that starts at <paramref name="start"/> of <paramref name="values"/>.</summary>
    public static RecurrenceInputs Read(IReadOnlyList<object> values, int start, int layers)
    {
        Tensor At(int k) => (Tensor)values[start + k];
        var deeper = Enumerable.Range(0, layers - 1).Select(l => (At(FirstLayerTensors + (2 * l)), At(FirstLayerTensors + (2 * l) + 1))).ToArray();
        return new RecurrenceInputs(At(0), At(1), At(2), At(3), At(4), At(5), At(6), At(7), deeper);
    }

    /// <summary>The tensors in their positional order.</summary>
    public IEnumerable<Tensor> Tensors() =>
        [Index, Table, InitialContext, ContextWeight, HeadWeight, HeadBias, NormWeight, NormBias, .. DeeperLayers.SelectMany(layer => new[] { layer.Weight, layer.Bias })];
}
