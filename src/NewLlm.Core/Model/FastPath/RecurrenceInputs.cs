namespace NewLlm;

/// <summary>
/// The tensors <see cref="RecurrenceFunction"/> reads, and the one place that knows their positional order:
/// <c>index, table, c0, Wc, Wh, bh, gamma, beta</c>, then <c>W_l, b_l</c> for every further FNN layer, that is
/// 8 + 2 (L - 1) tensors. The autograd function's arguments (after its settings), the start of its saved tensors
/// and its gradients (null where an input gets none) all follow this order.
/// </summary>
/// <param name="Index">The row of <paramref name="Table"/> for every position, int64 [B, T].</param>
/// <param name="Table">The first layer's pre-activation without its context share (embedding share plus bias), [N, H]: per vocabulary entry or per position.</param>
/// <param name="InitialContext">c0, [B, C].</param>
/// <param name="ContextWeight">The first layer's context columns Wc, [H, C].</param>
/// <param name="HeadWeight">The three context heads as one weight Wh, [3C, H] (rows: context_update, forget_gate, input_gate).</param>
/// <param name="HeadBias">Their bias bh, [3C].</param>
/// <param name="NormWeight">The LayerNorm weight gamma, [C].</param>
/// <param name="NormBias">The LayerNorm bias beta, [C].</param>
/// <param name="DeeperLayers">The weight [H, H] and bias [H] of FNN layers 2 to L.</param>
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

    /// <summary>The weight of FNN layer <paramref name="layer"/> (1 to L - 1, counting from 0).</summary>
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
