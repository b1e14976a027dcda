namespace NewLlm;

/// <summary>
/// The element-wise work of the time loops as one fused pass per row (<see cref="RecurrenceKernels"/>), for float32
/// tensors on the CPU. The kernels read and write the buffers through raw row pointers (<see cref="TensorRows"/>),
/// taken once per loop and row thread, not per position; they add the biases themselves, and keep the bias and
/// LayerNorm gradient sums in doubles until the end of the loop.
/// </summary>
internal sealed unsafe class FusedCpuStrategy : RecurrenceStrategy
{
    public static readonly FusedCpuStrategy Instance = new();

    public override bool ProductsAddToBuffers => false;

    /// <summary>Every tensor the kernels read by pointer made contiguous.</summary>
    public override RecurrenceInputs Prepare(RecurrenceInputs inputs) => inputs with
    {
        Index = inputs.Index.contiguous(),
        Table = inputs.Table.contiguous(),
        InitialContext = inputs.InitialContext.contiguous(),
        HeadBias = inputs.HeadBias.contiguous(),
        NormWeight = inputs.NormWeight.contiguous(),
        NormBias = inputs.NormBias.contiguous(),
        DeeperLayers = inputs.DeeperLayers.Select(layer => (layer.Weight, layer.Bias.contiguous())).ToArray(),
    };

    public override ForwardRows Forward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count) => new FusedForward(buffers, mask, first, count);

    public override BackwardRows Backward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count) =>
        new FusedBackward(buffers, dHidden, keep, sums, first, count);

    /// <summary>One row thread's range and the row views of the buffers both loops read ([B, T, *], or [B, C] and [C] for the initial context and the LayerNorm), taken once per loop.</summary>
    private readonly record struct LoopRows(
        long First, int Count, int HiddenDim, int C, TensorRows[] Hidden, TensorRows Gates, TensorRows Contexts, TensorRows Start, TensorRows Gamma, TensorRows Beta)
    {
        public LoopRows(RecurrenceBuffers buffers, long first, long count)
            : this(
                first,
                (int)count,
                (int)buffers.HiddenDim,
                (int)buffers.ContextDim,
                buffers.Hidden.Select(x => new TensorRows(x)).ToArray(),
                new TensorRows(buffers.Gates),
                new TensorRows(buffers.Contexts),
                new TensorRows(buffers.Inputs.InitialContext),
                new TensorRows(buffers.Inputs.NormWeight),
                new TensorRows(buffers.Inputs.NormBias))
        {
        }

        /// <summary>The context entering position <paramref name="t"/> of the thread's first row (row t - 1 of the contexts, or the initial context), and the stride between its rows.</summary>
        public float* ContextBefore(long t, out long stride)
        {
            stride = t > 0 ? Contexts.Stride : Start.Stride;
            return t > 0 ? Contexts.At(First, t - 1) : Start.At(First);
        }
    }

    private sealed class FusedForward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count) : ForwardRows
    {
        private readonly LoopRows _rows = new(buffers, first, count);
        private readonly long _time = buffers.Time;
        private readonly TensorRows[] _biasRows = Enumerable.Range(0, buffers.Layers).Select(l => l == 0 ? default : new TensorRows(buffers.Inputs.LayerBias(l))).ToArray();
        private readonly TensorRows _tableRows = new(buffers.Inputs.Table);
        private readonly TensorRows _headBiasRows = new(buffers.Inputs.HeadBias);
        private readonly long* _index = TensorRows.OfIndex(buffers.Inputs.Index);
        private readonly float[] _scratch = new float[buffers.ContextDim];

        public override void BeginPosition(long t)
        {
            // The first layer's rows of the table. Every index is a valid table row: token ids were checked against the vocabulary, or positions.
            TensorRows h = _rows.Hidden[0];
            RecurrenceKernels.Gather(h.At(_rows.First, t), h.Stride, _tableRows.Start(), _index + (_rows.First * _time) + t, _time, _rows.Count, _rows.HiddenDim);
        }

        public override void ReluDropout(int layer, long t, Tensor h)
        {
            float* bias = layer == 0 ? null : _biasRows[layer].Start();
            TensorRows hRows = _rows.Hidden[layer];
            RecurrenceKernels.ReluDropout(hRows.At(_rows.First, t), hRows.Stride, bias, _rows.Count, _rows.HiddenDim, mask, t, layer, _rows.First);
        }

        public override void GatesAndNorm(long t, Tensor gates, Tensor context, Tensor next)
        {
            float* cRow = _rows.ContextBefore(t, out long cStride);
            fixed (float* work = _scratch)
            {
                RecurrenceKernels.GatesAndNorm(
                    _rows.Gates.At(_rows.First, t), _rows.Gates.Stride, _headBiasRows.Start(), cRow, cStride, _rows.Contexts.At(_rows.First, t), _rows.Contexts.Stride,
                    _rows.Gamma.Start(), _rows.Beta.Start(), work,
                    _rows.Count, _rows.C, (float)ContextRecurrence.LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
            }
        }
    }

    private sealed class FusedBackward : BackwardRows
    {
        private readonly LoopRows _rows;
        private readonly ThreadGradients _sums;
        private readonly float _keep;
        private readonly int _layers;
        private readonly TensorRows? _dHiddenRows;
        private readonly TensorRows _dGatesRows;
        private readonly TensorRows[] _dLayerRows;
        private readonly float[] _scratch;

        /// <summary>The heads' bias [3C], then each further layer's bias [H].</summary>
        private readonly double[] _biasSums;

        /// <summary>The LayerNorm weight [C], then its bias [C].</summary>
        private readonly double[] _normSums;
        private TensorRows _dContextRows;
        private TensorRows _dContextBeforeRows;

        public FusedBackward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count)
            : base(buffers, count)
        {
            _rows = new LoopRows(buffers, first, count);
            _sums = sums;
            _keep = keep;
            _layers = buffers.Layers;
            int c = _rows.C, hidden = _rows.HiddenDim;
            _dHiddenRows = dHidden is null ? null : new TensorRows(dHidden);
            _dGatesRows = new TensorRows(DGates);
            _dLayerRows = DLayers.Select(x => new TensorRows(x)).ToArray();
            (_dContextRows, _dContextBeforeRows) = (new TensorRows(DContext), new TensorRows(DContextBefore));
            _scratch = new float[Math.Max(8 * c, hidden)];
            _biasSums = new double[(3 * c) + ((_layers - 1) * hidden)];
            _normSums = new double[2 * c];
        }

        public override void GatesAndNormBackward(long t, Tensor contextBefore)
        {
            int c = _rows.C;
            float* cRow = _rows.ContextBefore(t, out long cStride);
            fixed (double* bias = _biasSums, norm = _normSums)
            fixed (float* work = _scratch)
            {
                RecurrenceKernels.GatesAndNormBackward(
                    _dContextRows.Start(), c, _rows.Gates.At(_rows.First, t), _rows.Gates.Stride, cRow, cStride, _dGatesRows.Start(), 3 * c, _dContextBeforeRows.Start(), c,
                    _rows.Gamma.Start(), _rows.Beta.Start(), bias, norm, norm + c, work, _rows.Count, c,
                    (float)ContextRecurrence.LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
            }
        }

        public override void ReluDropoutBackward(int layer, long t)
        {
            int hidden = _rows.HiddenDim;
            bool addsHidden = layer == _layers - 1 && _dHiddenRows is not null;
            float* addRow = addsHidden ? _dHiddenRows!.Value.At(_rows.First, t) : null;
            long addStride = addsHidden ? _dHiddenRows!.Value.Stride : 0;
            TensorRows hRows = _rows.Hidden[layer];
            fixed (double* bias = _biasSums)
            fixed (float* work = _scratch)
            {
                double* layerBias = layer > 0 ? bias + (3 * _rows.C) + ((layer - 1) * hidden) : null;
                RecurrenceKernels.ReluDropoutBackward(_dLayerRows[layer].Start(), hidden, addRow, addStride, hRows.At(_rows.First, t), hRows.Stride, _rows.Count, hidden, _keep, layerBias, work);
            }
        }

        public override void Finish() => _sums.TakeSums(_biasSums, _normSums);

        protected override void ContextGradientsSwapped() => (_dContextRows, _dContextBeforeRows) = (_dContextBeforeRows, _dContextRows);
    }
}
