namespace NewLlm;

/// <summary>
/// One row thread's operands of the weight gradients of <see cref="RecurrenceLoops.Backward"/>, and when they are formed:
/// <c>dW += dY^T X</c> per position when the products run in the parameters' dtype, or, in mixed precision, once per
/// block of positions (about <see cref="BlockRows"/> rows), each position's operands cast into a slot of the block.
/// </summary>
/// <remarks>
/// In mixed precision a weight gradient formed per position is a product with as few rows as the thread has batch rows
/// (128 at B = 256 on two threads) whose whole [out, in] result is cast and added to the float32 sum: at 4 layers 1.3M
/// elements per position. Over a block the same sums cost one such pass per block, and the operands are cast once
/// each, as before. In float32 <c>addmm_</c> adds each position's product to the sum in place, and copying the operands
/// into blocks measured slower (benchmarks/NewLlm.Benchmarks/README.md, "Where the bf16 step's time goes").
/// </remarks>
internal sealed class WeightGradientBlock
{
    /// <summary>About how many rows (positions x the thread's batch rows) one block's products have.</summary>
    public const long BlockRows = 512;

    private readonly MatrixProducts _products;
    private readonly int _layers;
    private readonly long _rows;
    private readonly Tensor? _gates;
    private readonly Tensor?[] _layerGradients;
    private readonly Tensor?[] _layerInputs;
    private readonly Tensor? _contexts;

    // Without slots (the parameters' dtype): the position's operands themselves.
    private readonly Tensor[] _positionLayerGradients;
    private Tensor? _positionGates;
    private Tensor[]? _positionLayerInputs;
    private Tensor? _positionContext;
    private readonly Tensor? _scratch;
    private int _filled;

    /// <param name="products">The products' dtype (the slots are in it).</param>
    /// <param name="layers">FNN layers.</param>
    /// <param name="rows">The row thread's batch rows.</param>
    /// <param name="hidden">H.</param>
    /// <param name="context">C.</param>
    /// <param name="time">Positions in the sequence (a block holds no more).</param>
    /// <param name="like">A tensor of the parameters' dtype and device.</param>
    public WeightGradientBlock(MatrixProducts products, int layers, long rows, long hidden, long context, long time, Tensor like)
    {
        _products = products;
        _layers = layers;
        _rows = rows;
        _positionLayerGradients = new Tensor[layers];
        if (products.ComputeDType is not { } low)
        {
            Positions = 1;
            _layerGradients = new Tensor?[layers];
            _layerInputs = new Tensor?[layers];
            return;
        }

        Positions = Math.Clamp((BlockRows + rows - 1) / rows, 1, time);
        Tensor Slots(long width) => empty([Positions, rows, width], dtype: low, device: like.device);
        _gates = Slots(3 * context);
        _layerGradients = Enumerable.Range(0, layers).Select(_ => Slots(hidden)).ToArray();
        _layerInputs = Enumerable.Range(0, layers).Select(_ => Slots(hidden)).ToArray();
        _contexts = Slots(context);

        // Mixed precision: a block of rows of a weight gradient's product in the products' dtype, kept (a fresh one per block would be mapped anew).
        long scratch = Math.Max(MatrixProducts.ScratchElements(3 * context, hidden), Math.Max(MatrixProducts.ScratchElements(hidden, hidden), MatrixProducts.ScratchElements(hidden, context)));
        _scratch = empty(scratch, dtype: low, device: like.device);
    }

    /// <summary>Positions per block.</summary>
    public long Positions { get; }

    /// <summary>Whether the block's slots are all filled (then <see cref="AddTo"/> must run before the next position).</summary>
    public bool Full => _filled == Positions;

    /// <summary>The gates' gradient of the position being filled, in the products' dtype, from <paramref name="dGates"/> [rows, 3C]: the heads' product operand.</summary>
    public Tensor Gates(Tensor dGates) => _gates is null ? _positionGates = dGates : _gates[_filled].copy_(dGates);

    /// <summary>Layer <paramref name="layer"/>'s pre-activation gradient of the position being filled, in the products' dtype: the operand of the products below it.</summary>
    public Tensor LayerGradient(int layer, Tensor gradient) =>
        _layerGradients[layer] is { } slots ? slots[_filled].copy_(gradient) : _positionLayerGradients[layer] = gradient;

    /// <summary>Records the position's inputs of the weight products: every layer's output [rows, H] (the inputs of the layer above and of the heads) and the incoming context [rows, C]; ends the position.</summary>
    public void EndPosition(Tensor[] layerOutputs, Tensor contextBefore)
    {
        if (_contexts is null)
        {
            (_positionLayerInputs, _positionContext) = (layerOutputs, contextBefore);
        }
        else
        {
            for (int l = 0; l < _layers; l++)
            {
                _layerInputs[l]![_filled].copy_(layerOutputs[l]);
            }

            _contexts[_filled].copy_(contextBefore);
        }

        _filled++;
    }

    /// <summary>Adds the filled positions' weight gradients to <paramref name="sums"/> and empties the block.</summary>
    public void AddTo(ThreadGradients sums)
    {
        if (_filled == 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        long n = _filled * _rows;
        Tensor Rows(Tensor? slots, Tensor? position) => slots is null ? position! : slots.narrow(0, 0, _filled).view(n, slots.shape[2]);

        // The heads take the last layer's output; layer l > 0 the output of layer l - 1; the first layer's context columns the incoming context.
        _products.AddTo(sums.HeadWeight, Rows(_gates, _positionGates).t(), Rows(_layerInputs[_layers - 1], _positionLayerInputs?[_layers - 1]), accumulate: true, _scratch);
        for (int l = 1; l < _layers; l++)
        {
            _products.AddTo(sums.LayerWeights[l], Rows(_layerGradients[l], _positionLayerGradients[l]).t(), Rows(_layerInputs[l - 1], _positionLayerInputs?[l - 1]), accumulate: true, _scratch);
        }

        _products.AddTo(sums.ContextWeight, Rows(_layerGradients[0], _positionLayerGradients[0]).t(), Rows(_contexts, _positionContext), accumulate: true, _scratch);
        _filled = 0;
    }
}
