using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// The element-wise work of the time loops as libtorch operators: the path for dtypes other than float32 and devices
/// other than the CPU (<see cref="FusedCpuStrategy"/> is the float32 CPU one). The biases are put into the buffers up
/// front, so that the products add to them; the dropout masks are drawn on the CPU, position by position.
/// </summary>
internal sealed class OperatorStrategy : RecurrenceStrategy
{
    public static readonly OperatorStrategy Instance = new();

    public override bool ProductsAddToBuffers => true;

    public override ForwardRows Forward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count) => new OperatorForward(buffers, mask, first, count);

    public override BackwardRows Backward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count) =>
        new OperatorBackward(buffers, dHidden, keep, sums, first, count);

    /// <summary>m = f * c + i * u with f and i after sigmoid: one definition for the forward and the backward's recomputation.</summary>
    private static Tensor Mix(Tensor u, Tensor f, Tensor i, Tensor context) => u.mul(i).addcmul_(f, context, HeldScalars.One);

    private sealed class OperatorForward : ForwardRows
    {
        private readonly DropoutMask _mask;
        private readonly long _first;
        private readonly long _count;
        private readonly long _c;
        private readonly RecurrenceInputs _inputs;
        private readonly float[]? _maskData;
        private readonly Tensor? _masks;

        /// <summary>Fills the rows' buffers with the first layer's rows of the table and every further bias; made in the row thread's dispose scope.</summary>
        public OperatorForward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count)
        {
            RecurrenceInputs inputs = _inputs = buffers.Inputs;
            _mask = mask;
            _first = first;
            _count = count;
            _c = buffers.ContextDim;
            long time = buffers.Time, hidden = buffers.HiddenDim;
            int layers = buffers.Layers;
            Tensor Rows(Tensor x) => x.narrow(0, first, count);
            if (mask.Active)
            {
                _maskData = new float[checked((int)(layers * count * hidden))];
                _masks = frombuffer(_maskData, ScalarType.Float32).view(layers, count, hidden);
            }

            Rows(buffers.Hidden[0]).copy_(inputs.Table.index_select(0, Rows(inputs.Index).reshape(-1)).view(count, time, hidden));
            for (int l = 1; l < layers; l++)
            {
                Rows(buffers.Hidden[l]).copy_(inputs.LayerBias(l).expand(count, time, hidden));
            }

            Rows(buffers.Gates).copy_(inputs.HeadBias.expand(count, time, 3 * _c));
        }

        public override void BeginPosition(long t)
        {
            if (_maskData is not null)
            {
                _mask.Fill(_maskData, t, _first, _count);
            }
        }

        public override void ReluDropout(int layer, long t, Tensor h)
        {
            h.relu_();
            if (_masks is not null)
            {
                // The masks are drawn on the CPU: moved to the model's device and dtype (a no-op for float32 on the CPU).
                h.mul_(_masks.select(0, layer).to(h.dtype, h.device));
            }
        }

        public override void GatesAndNorm(long t, Tensor gates, Tensor context, Tensor next)
        {
            gates.narrow(1, _c, 2 * _c).sigmoid_();
            Tensor m = Mix(gates.narrow(1, 0, _c), gates.narrow(1, _c, _c), gates.narrow(1, 2 * _c, _c), context);
            next.copy_(F.layer_norm(m, [_c], _inputs.NormWeight, _inputs.NormBias, ContextRecurrence.LayerNormEps).clamp_(HeldScalars.ContextClampMin, HeldScalars.ContextClampMax));
        }
    }

    // Made in the row thread's dispose scope, with the rows' views of the buffers.
    private sealed class OperatorBackward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count)
        : BackwardRows(buffers, count)
    {
        private static readonly long[] LastDim = [-1];
        private static readonly long[] FirstDim = [0];
        private readonly long _c = buffers.ContextDim;
        private readonly Tensor _u = buffers.Gates.narrow(0, first, count).narrow(2, 0, buffers.ContextDim);
        private readonly Tensor _f = buffers.Gates.narrow(0, first, count).narrow(2, buffers.ContextDim, buffers.ContextDim);
        private readonly Tensor _i = buffers.Gates.narrow(0, first, count).narrow(2, 2 * buffers.ContextDim, buffers.ContextDim);
        private readonly Tensor[] _hidden = buffers.Hidden.Select(h => h.narrow(0, first, count)).ToArray();
        private readonly Tensor? _dHidden = dHidden?.narrow(0, first, count);
        private readonly Tensor _gamma = buffers.Inputs.NormWeight;
        private readonly Tensor _beta = buffers.Inputs.NormBias;

        public override void GatesAndNormBackward(long t, Tensor contextBefore)
        {
            Tensor ut = _u.select(1, t), ft = _f.select(1, t), it = _i.select(1, t);
            Tensor m = Mix(ut, ft, it, contextBefore);

            // LayerNorm statistics and the clamp's pass-through mask (min <= y <= max, as torch's clamp).
            Tensor xt = m - m.mean(LastDim, keepdim: true);
            Tensor rstd = xt.square().mean(LastDim, keepdim: true).add_(HeldScalars.LayerNormEps).rsqrt_();
            xt.mul_(rstd);
            Tensor y = addcmul(_beta, xt, _gamma, 1);
            Tensor pass = y.ge(HeldScalars.ContextClampMin).logical_and_(y.le(HeldScalars.ContextClampMax));
            Tensor dy = DContext * pass;
            sums.NormWeight.add_((dy * xt).sum(FirstDim), HeldScalars.One);
            sums.NormBias.add_(dy.sum(FirstDim), HeldScalars.One);

            // LayerNorm backward, then the gates: mixed = f * c + i * u.
            Tensor dxhat = dy * _gamma;
            Tensor meanD = dxhat.mean(LastDim, keepdim: true);
            Tensor meanDx = (dxhat * xt).mean(LastDim, keepdim: true);
            Tensor dm = dxhat.sub_(meanD).addcmul_(xt, meanDx, HeldScalars.MinusOne).mul_(rstd);
            DGates.narrow(1, 0, _c).copy_(it).mul_(dm);
            DGates.narrow(1, _c, _c).copy_(ft).addcmul_(ft, ft, HeldScalars.MinusOne).mul_(contextBefore).mul_(dm);
            DGates.narrow(1, 2 * _c, _c).copy_(it).addcmul_(it, it, HeldScalars.MinusOne).mul_(ut).mul_(dm);
            sums.HeadBias.add_(DGates.sum(FirstDim), HeldScalars.One);
            DContextBefore.copy_(dm).mul_(ft);
        }

        public override void ReluDropoutBackward(int layer, long t)
        {
            // ReLU and dropout pass where h > 0, scaled by 1 / (1 - p).
            Tensor da = DLayers[layer];
            if (layer == _hidden.Length - 1 && _dHidden is not null)
            {
                da.add_(_dHidden.select(1, t), HeldScalars.One);
            }

            da.mul_(_hidden[layer].select(1, t).gt(HeldScalars.Zero)).mul_(keep);
            if (layer > 0)
            {
                sums.LayerBiases[layer].add_(da.sum(FirstDim), HeldScalars.One);
            }
        }
    }
}
