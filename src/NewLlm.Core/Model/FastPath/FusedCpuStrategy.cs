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

    private sealed class FusedForward : ForwardRows
    {
        private readonly DropoutMask mask;
        private readonly long first;
        private readonly int count;
        private readonly long time;
        private readonly int hidden;
        private readonly int c;
        private readonly TensorRows[] hRows;
        private readonly TensorRows[] biasRows;
        private readonly TensorRows gateRows;
        private readonly TensorRows contextRows;
        private readonly TensorRows startRows;
        private readonly TensorRows tableRows;
        private readonly TensorRows headBiasRows;
        private readonly TensorRows gammaRows;
        private readonly TensorRows betaRows;
        private readonly long* index;
        private readonly float[] scratch;

        public FusedForward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count)
        {
            RecurrenceInputs inputs = buffers.Inputs;
            this.mask = mask;
            this.first = first;
            this.count = (int)count;
            time = buffers.Time;
            hidden = (int)buffers.HiddenDim;
            c = (int)buffers.ContextDim;
            hRows = buffers.Hidden.Select(x => new TensorRows(x)).ToArray();
            biasRows = Enumerable.Range(0, inputs.Layers).Select(l => l == 0 ? default : new TensorRows(inputs.LayerBias(l))).ToArray();
            gateRows = new TensorRows(buffers.Gates);
            contextRows = new TensorRows(buffers.Contexts);
            startRows = new TensorRows(inputs.InitialContext);
            tableRows = new TensorRows(inputs.Table);
            headBiasRows = new TensorRows(inputs.HeadBias);
            gammaRows = new TensorRows(inputs.NormWeight);
            betaRows = new TensorRows(inputs.NormBias);
            index = TensorRows.OfIndex(inputs.Index);
            scratch = new float[c];
        }

        public override void BeginPosition(long t)
        {
            // The first layer's rows of the table. Every index is a valid table row: token ids were checked against the vocabulary, or positions.
            RecurrenceKernels.Gather(hRows[0].At(first, t), hRows[0].Stride, tableRows.Start(), index + (first * time) + t, time, count, hidden);
        }

        public override void ReluDropout(int layer, long t, Tensor h)
        {
            float* bias = layer == 0 ? null : biasRows[layer].Start();
            RecurrenceKernels.ReluDropout(hRows[layer].At(first, t), hRows[layer].Stride, bias, count, hidden, mask, t, layer, first);
        }

        public override void GatesAndNorm(long t, Tensor gates, Tensor context, Tensor next)
        {
            float* cRow = TensorRows.Before(contextRows, startRows, first, t, out long cStride);
            fixed (float* work = scratch)
            {
                RecurrenceKernels.GatesAndNorm(
                    gateRows.At(first, t), gateRows.Stride, headBiasRows.Start(), cRow, cStride, contextRows.At(first, t), contextRows.Stride,
                    gammaRows.Start(), betaRows.Start(), work,
                    count, c, (float)ContextRecurrence.LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
            }
        }
    }

    private sealed class FusedBackward : BackwardRows
    {
        private readonly ThreadGradients sums;
        private readonly float keep;
        private readonly long first;
        private readonly int count;
        private readonly int hidden;
        private readonly int c;
        private readonly int layers;
        private readonly TensorRows[] hRows;
        private readonly TensorRows gateRows;
        private readonly TensorRows contextRows;
        private readonly TensorRows startRows;
        private readonly TensorRows gammaRows;
        private readonly TensorRows betaRows;
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
            this.sums = sums;
            this.keep = keep;
            this.first = first;
            this.count = (int)count;
            hidden = (int)buffers.HiddenDim;
            c = (int)buffers.ContextDim;
            layers = buffers.Layers;
            hRows = buffers.Hidden.Select(x => new TensorRows(x)).ToArray();
            gateRows = new TensorRows(buffers.Gates);
            contextRows = new TensorRows(buffers.Contexts);
            startRows = new TensorRows(buffers.Inputs.InitialContext);
            gammaRows = new TensorRows(buffers.Inputs.NormWeight);
            betaRows = new TensorRows(buffers.Inputs.NormBias);
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
            float* cRow = TensorRows.Before(contextRows, startRows, first, t, out long cStride);
            fixed (double* bias = biasSums, norm = normSums)
            fixed (float* work = scratch)
            {
                RecurrenceKernels.GatesAndNormBackward(
                    dContextRows.Start(), c, gateRows.At(first, t), gateRows.Stride, cRow, cStride, dGatesRows.Start(), 3 * c, dContextBeforeRows.Start(), c,
                    gammaRows.Start(), betaRows.Start(), bias, norm, norm + c, work, count, c,
                    (float)ContextRecurrence.LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
            }
        }

        public override void ReluDropoutBackward(int layer, long t)
        {
            bool addsHidden = layer == layers - 1 && dHiddenRows is not null;
            float* addRow = addsHidden ? dHiddenRows!.Value.At(first, t) : null;
            long addStride = addsHidden ? dHiddenRows!.Value.Stride : 0;
            fixed (double* bias = biasSums)
            fixed (float* work = scratch)
            {
                double* layerBias = layer > 0 ? bias + (3 * c) + ((layer - 1) * hidden) : null;
                RecurrenceKernels.ReluDropoutBackward(dLayerRows[layer].Start(), hidden, addRow, addStride, hRows[layer].At(first, t), hRows[layer].Stride, count, hidden, keep, layerBias, work);
            }
        }

        public override void Finish() => sums.TakeSums(biasSums, normSums);

        protected override void ContextGradientsSwapped() => (dContextRows, dContextBeforeRows) = (dContextBeforeRows, dContextRows);
    }
}
