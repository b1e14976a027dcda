using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// The element-wise work of the time loops as one fused pass per row (<see cref="RecurrenceKernels"/>), for float32
/// tensors on the CPU. The kernels read and write the buffers through raw row pointers (<see cref="TensorRows"/>),
/// taken once per loop and row thread, not per position; they add the biases themselves, and keep the bias and
/// LayerNorm gradient sums in doubles until the end of the loop.
/// </summary>
internal sealed unsafe class FusedCpuStrategy : RecurrenceStrategy
{
    /// <summary>The one instance (the strategy has no state; its row objects have).</summary>
    public static readonly FusedCpuStrategy Instance = new();

    private FusedCpuStrategy()
    {
    }

    /// <inheritdoc/>
    public override bool ProductsAddToBuffers => false;

    /// <inheritdoc/>
    /// <remarks>Every tensor the kernels read by pointer is made contiguous.</remarks>
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

    /// <inheritdoc/>
    public override ForwardRows Forward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count) => new FusedForward(buffers, mask, first, count);

    /// <inheritdoc/>
    public override BackwardRows Backward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count) =>
        new FusedBackward(buffers, dHidden, keep, sums, first, count);

    /// <summary>One row thread's range and the row views of the buffers that both loops read, taken once per loop.</summary>
    private readonly struct LoopRows
    {
        public LoopRows(RecurrenceBuffers buffers, long first, long count)
        {
            First = first;
            Count = (int)count;
            HiddenDim = (int)buffers.HiddenDim;
            C = (int)buffers.ContextDim;
            Hidden = buffers.Hidden.Select(x => new TensorRows(x)).ToArray();
            Gates = new TensorRows(buffers.Gates);
            Contexts = new TensorRows(buffers.Contexts);
            Start = new TensorRows(buffers.Inputs.InitialContext);
            Gamma = new TensorRows(buffers.Inputs.NormWeight);
            Beta = new TensorRows(buffers.Inputs.NormBias);
        }

        /// <summary>The thread's first row.</summary>
        public long First { get; }

        /// <summary>The thread's number of rows.</summary>
        public int Count { get; }

        /// <summary>H.</summary>
        public int HiddenDim { get; }

        /// <summary>C.</summary>
        public int C { get; }

        /// <summary>The hidden states of every layer [B, T, H].</summary>
        public TensorRows[] Hidden { get; }

        /// <summary>The gates [B, T, 3C].</summary>
        public TensorRows Gates { get; }

        /// <summary>The contexts after every position [B, T, C].</summary>
        public TensorRows Contexts { get; }

        /// <summary>The initial context [B, C].</summary>
        public TensorRows Start { get; }

        /// <summary>The LayerNorm weight [C].</summary>
        public TensorRows Gamma { get; }

        /// <summary>The LayerNorm bias [C].</summary>
        public TensorRows Beta { get; }

        /// <summary>The context entering position <paramref name="t"/> of the thread's first row, and the stride between its rows.</summary>
        public float* ContextBefore(long t, out long stride) => TensorRows.Before(Contexts, Start, First, t, out stride);
    }

    private sealed class FusedForward : ForwardRows
    {
        private readonly LoopRows rows;
        private readonly DropoutMask mask;
        private readonly long time;
        private readonly TensorRows[] biasRows;
        private readonly TensorRows tableRows;
        private readonly TensorRows headBiasRows;
        private readonly long* index;
        private readonly float[] scratch;

        public FusedForward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count)
        {
            RecurrenceInputs inputs = buffers.Inputs;
            rows = new LoopRows(buffers, first, count);
            this.mask = mask;
            time = buffers.Time;
            biasRows = Enumerable.Range(0, inputs.Layers).Select(l => l == 0 ? default : new TensorRows(inputs.LayerBias(l))).ToArray();
            tableRows = new TensorRows(inputs.Table);
            headBiasRows = new TensorRows(inputs.HeadBias);
            index = TensorRows.OfIndex(inputs.Index);
            scratch = new float[rows.C];
        }

        public override void BeginPosition(long t)
        {
            // The first layer's rows of the table. Every index is a valid table row: token ids were checked against the vocabulary, or positions.
            TensorRows h = rows.Hidden[0];
            RecurrenceKernels.Gather(h.At(rows.First, t), h.Stride, tableRows.Start(), index + (rows.First * time) + t, time, rows.Count, rows.HiddenDim);
        }

        public override void ReluDropout(int layer, long t, Tensor h)
        {
            float* bias = layer == 0 ? null : biasRows[layer].Start();
            TensorRows hRows = rows.Hidden[layer];
            RecurrenceKernels.ReluDropout(hRows.At(rows.First, t), hRows.Stride, bias, rows.Count, rows.HiddenDim, mask, t, layer, rows.First);
        }

        public override void GatesAndNorm(long t, Tensor gates, Tensor context, Tensor next)
        {
            float* cRow = rows.ContextBefore(t, out long cStride);
            fixed (float* work = scratch)
            {
                RecurrenceKernels.GatesAndNorm(
                    rows.Gates.At(rows.First, t), rows.Gates.Stride, headBiasRows.Start(), cRow, cStride, rows.Contexts.At(rows.First, t), rows.Contexts.Stride,
                    rows.Gamma.Start(), rows.Beta.Start(), work,
                    rows.Count, rows.C, (float)ContextRecurrence.LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
            }
        }
    }

    private sealed class FusedBackward : BackwardRows
    {
        private readonly LoopRows rows;
        private readonly ThreadGradients sums;
        private readonly float keep;
        private readonly int layers;
        private readonly TensorRows? dHiddenRows;
        private readonly TensorRows dGatesRows;
        private readonly TensorRows[] dLayerRows;
        private readonly float[] scratch;

        /// <summary>The heads' bias [3C], then each further layer's bias [H].</summary>
        private readonly double[] biasSums;

        /// <summary>The LayerNorm weight [C], then its bias [C].</summary>
        private readonly double[] normSums;
        private TensorRows dContextRows;
        private TensorRows dContextBeforeRows;

        public FusedBackward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count)
            : base(buffers, count)
        {
            rows = new LoopRows(buffers, first, count);
            this.sums = sums;
            this.keep = keep;
            layers = buffers.Layers;
            int c = rows.C, hidden = rows.HiddenDim;
            dHiddenRows = dHidden is null ? null : new TensorRows(dHidden);
            dGatesRows = new TensorRows(DGates);
            dLayerRows = DLayers.Select(x => new TensorRows(x)).ToArray();
            (dContextRows, dContextBeforeRows) = (new TensorRows(DContext), new TensorRows(DContextBefore));
            scratch = new float[Math.Max(8 * c, hidden)];
            biasSums = new double[(3 * c) + ((layers - 1) * hidden)];
            normSums = new double[2 * c];
        }

        public override void GatesAndNormBackward(long t, Tensor contextBefore)
        {
            int c = rows.C;
            float* cRow = rows.ContextBefore(t, out long cStride);
            fixed (double* bias = biasSums, norm = normSums)
            fixed (float* work = scratch)
            {
                RecurrenceKernels.GatesAndNormBackward(
                    dContextRows.Start(), c, rows.Gates.At(rows.First, t), rows.Gates.Stride, cRow, cStride, dGatesRows.Start(), 3 * c, dContextBeforeRows.Start(), c,
                    rows.Gamma.Start(), rows.Beta.Start(), bias, norm, norm + c, work, rows.Count, c,
                    (float)ContextRecurrence.LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
            }
        }

        public override void ReluDropoutBackward(int layer, long t)
        {
            int hidden = rows.HiddenDim;
            bool addsHidden = layer == layers - 1 && dHiddenRows is not null;
            float* addRow = addsHidden ? dHiddenRows!.Value.At(rows.First, t) : null;
            long addStride = addsHidden ? dHiddenRows!.Value.Stride : 0;
            TensorRows hRows = rows.Hidden[layer];
            fixed (double* bias = biasSums)
            fixed (float* work = scratch)
            {
                double* layerBias = layer > 0 ? bias + (3 * rows.C) + ((layer - 1) * hidden) : null;
                RecurrenceKernels.ReluDropoutBackward(dLayerRows[layer].Start(), hidden, addRow, addStride, hRows.At(rows.First, t), hRows.Stride, rows.Count, hidden, keep, layerBias, work);
            }
        }

        public override void Finish() => sums.TakeSums(biasSums, normSums);

        protected override void ContextGradientsSwapped() => (dContextRows, dContextBeforeRows) = (dContextBeforeRows, dContextRows);
    }
}
