namespace NewLlm;

/// <summary>
/// The output layer and next-token cross-entropy as one autograd node that never holds the logits of all positions:
/// <c>sum_n [logsumexp(W h_n + b) - (W h_n + b)[y_n]]</c> over the positions n whose target y_n is not ignored,
/// computed for a chunk of positions at a time in a scratch buffer [chunk, V].
/// </summary>
/// <remarks>
/// <para>
/// When gradients are wanted, each chunk's softmax is turned into its gradient while it is at hand,
/// <c>dlogits = softmax - onehot(y)</c>, and folded into the gradients of the hidden states (<c>dlogits W</c>), the
/// weight (<c>dlogits^T h</c>) and the bias (<c>sum dlogits</c>); the backward scales them by the incoming gradient.
/// Positions whose target is ignored are not visited at all (their loss and gradient are 0). Three matrix products per chunk, as the unchunked path's forward and backward, instead of
/// recomputing the logits in the backward. The libraries at hand have no such kernel (libtorch's cross_entropy
/// takes whole logits), so it is written here.
/// </para>
/// <para>
/// The log-softmax is libtorch's formula, <c>x - max - log(sum(exp(x - max)))</c>, so each loss equals
/// <c>F.cross_entropy</c>'s to float rounding.
/// </para>
/// </remarks>
internal sealed class ChunkedCrossEntropy : autograd.MultiTensorFunction<ChunkedCrossEntropy>
{
    private const string RunKey = "run";

    public override string Name => "NewLlmChunkedCrossEntropy";

    /// <summary>
    /// The loss over every position of <paramref name="hidden"/> [N, H] with the output layer's <paramref name="weight"/>
    /// [V, H] and <paramref name="bias"/>: the summed loss (in the graph), every position's loss [N] (detached), the
    /// counted targets and the correct argmaxes among them. <paramref name="releaseAfterBackward"/>: this node's backward
    /// ends the lease (no recurrence node follows it). <paramref name="computeDType"/> is the three products' dtype only.
    /// </summary>
    public static (Tensor Sum, Tensor TokenLosses, long Tokens, long Correct) Apply(
        Tensor hidden, Tensor weight, Tensor bias, Tensor targets, long ignoreIndex, WorkspaceLease? lease, bool releaseAfterBackward, long? chunkRows = null, ScalarType? computeDType = null)
    {
        bool gradients = is_grad_enabled() && (hidden.requires_grad || weight.requires_grad || bias.requires_grad);
        long rows = chunkRows ?? NewLlmLoss.ChunkPositions(hidden.shape[0], weight.shape[0], hidden.ElementSize);
        var products = MatrixProducts.For(computeDType, hidden.dtype);
        var run = new Run(ignoreIndex, Math.Max(1, rows), gradients, lease, releaseAfterBackward, [hidden.shape, weight.shape, bias.shape], hidden.dtype, hidden.device, products);
        Tensor sum = apply(run, hidden, weight, bias, targets)[0];
        return (sum, run.TokenLosses!, run.Tokens, run.Correct);
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var run = (Run)vars[0];
        (Tensor tokenLosses, long tokens, Tensor correct, Gradients? gradients) = Chunks(run, (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4], run.Gradients);
        run.TokenLosses = tokenLosses;
        run.Tokens = tokens;
        run.Correct = correct.item<long>();
        ctx.save_data(RunKey, run);
        if (gradients is { } g)
        {
            ctx.save_for_backward([g.Hidden, g.Weight, g.Bias]);
        }

        return [tokenLosses.sum()];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        // Nothing may be thrown here: an exception cannot cross libtorch's autograd engine.
        var run = (Run)ctx.get_data(RunKey);
        if (run.Lease is { IsCurrent: false })
        {
            // A later loss has overwritten the workspace this graph saved (see TrainingWorkspace): NaN, not wrong values.
            return run.InputShapes.Select(shape => full(shape, HeldScalars.NaN, dtype: run.DType, device: run.Device)).Prepend(null!).Append(null!).ToList();
        }

        // The gradients were formed in the forward; scaled copies, so that a retained graph can be backwarded again.
        // The copies go to the workspace: the recurrence's backward reads the hidden states' one, and autograd adds the
        // weight's and bias's into the parameters' gradients (copying them when it has none yet, as the workspace
        // holds a reference), so nothing keeps them after this backward and no [V, H] tensor is mapped afresh per step.
        List<Tensor> saved = ctx.get_saved_variables();
        Tensor scale = grad_outputs[0];
        Tensor Scaled(string name, Tensor gradient) =>
            WorkspaceLease.Buffer(run.Lease, name, gradient.shape, run.DType, run.Device).copy_(gradient).mul_(scale);
        var result = new List<Tensor> { null!, Scaled("loss.dHiddenOut", saved[0]), Scaled("loss.dWeightOut", saved[1]), Scaled("loss.dBiasOut", saved[2]), null! };
        if (run.ReleaseAfterBackward)
        {
            run.Lease?.Release();
        }

        return result;
    }

    // The chunk loop: every position's loss [N] (0 at ignored targets), the counts, and the loss sum's gradients when
    // wanted. Only positions whose target is counted are visited (gathered by index): padding needs no logits.
    private static (Tensor TokenLosses, long Tokens, Tensor Correct, Gradients? Gradients) Chunks(Run run, Tensor hidden, Tensor weight, Tensor bias, Tensor targets, bool gradients)
    {
        long n = hidden.shape[0], vocab = weight.shape[0], width = hidden.shape[1];
        var options = (dtype: hidden.dtype, device: hidden.device);
        using Scalar ignored = run.IgnoreIndex.ToScalar();
        Tensor counted = targets.ne(ignored).nonzero().squeeze(1);   // the positions with a counted target, in order
        long rows = counted.shape[0];
        Tensor tokenLosses = zeros(n, dtype: options.dtype, device: options.device);
        Tensor correct = zeros(1, dtype: ScalarType.Int64, device: options.device);
        Tensor Buffer(string name, params long[] shape) => WorkspaceLease.Buffer(run.Lease, name, shape, options.dtype, options.device);
        // The buffers are sized by all positions, not the counted ones, so that batches with other amounts of padding
        // reuse them.
        long bufferRows = Math.Min(run.ChunkRows, n), chunk = Math.Max(1, Math.Min(bufferRows, rows));
        Tensor logits = Buffer("loss.logits", bufferRows, vocab);
        // Mixed precision: the weight cast once per call, and the chunk's [chunk, V] product and the weight gradient's
        // product (a block of rows at a time, see MatrixProducts.AddTo) in kept buffers of the compute dtype (fresh ones
        // would be mapped anew for every chunk).
        MatrixProducts products = run.Products;
        Tensor? LowBuffer(string name, params long[] shape) => products.ComputeDType is { } low ? WorkspaceLease.Buffer(run.Lease, name, shape, low, options.device) : null;
        Tensor weightLow = products.Operand(weight, LowBuffer("loss.weightLow", vocab, width));
        Tensor? logitsLow = LowBuffer("loss.logitsLow", bufferRows, vocab);
        Tensor? dWeightLow = gradients ? LowBuffer("loss.dWeightLow", MatrixProducts.ScratchElements(vocab, width)) : null;
        Tensor weightT = weightLow.t();
        Gradients? result = gradients
            ? new Gradients(Buffer("loss.dHidden", n, width), Buffer("loss.dWeight", vocab, width).zero_(), Buffer("loss.dBias", vocab).zero_())
            : null;
        if (rows < n)
        {
            result?.Hidden.zero_();   // the rows of ignored targets (the others are written below)
        }

        // A gathered chunk's hidden-state gradient; asked for on every call, so that a batch with padding after one
        // without makes no buffer.
        Tensor? dHiddenChunk = gradients ? Buffer("loss.dHiddenChunk", bufferRows, width) : null;

        Tensor minusOne = full(chunk, 1, HeldScalars.MinusOne, dtype: options.dtype, device: options.device);

        long[] at = rows == 0 ? [] : counted.cpu().data<long>().ToArray();
        for (long start = 0; start < rows; start += chunk)
        {
            using var scope = NewDisposeScope();
            long k = Math.Min(chunk, rows - start);
            // A chunk of consecutive positions (every chunk of a batch without padding) is read and written in place;
            // one that skips ignored positions is gathered, and its results scattered back.
            long first = at[start];
            Tensor? positions = at[start + k - 1] - first == k - 1 ? null : counted.narrow(0, start, k);
            Tensor x = logits.narrow(0, 0, k);
            Tensor h = positions is null ? hidden.narrow(0, first, k) : hidden.index_select(0, positions);
            Tensor target = (positions is null ? targets.narrow(0, first, k) : targets.index_select(0, positions)).unsqueeze(1);
            Tensor hLow = products.Operand(h);
            Tensor? xLowBuffer = logitsLow?.narrow(0, 0, k);
            if (xLowBuffer is null)
            {
                products.AddTo(x.copy_(bias.expand(k, vocab)), hLow, weightT, accumulate: true);
            }
            else
            {
                products.AddTo(x, hLow, weightT, accumulate: false, xLowBuffer);   // a cast copy, not a mixed-dtype add
                x.add_(bias, HeldScalars.One);
            }

            // One pass for the maximum and its first index (the argmax, for the accuracy).
            (Tensor max, Tensor argmax) = x.max(1, keepdim: true);
            correct.add_(argmax.eq(target).sum(), HeldScalars.One);
            Tensor picked = x.gather(1, target).squeeze(1);
            Tensor expSum = x.sub_(max).exp_().sum(dim: 1);   // x now holds exp(logits - max)
            Tensor losses = max.squeeze(1).add(expSum.log(), HeldScalars.One).sub_(picked);   // logsumexp - picked
            if (positions is null)
            {
                tokenLosses.narrow(0, first, k).copy_(losses);
            }
            else
            {
                tokenLosses.index_copy_(0, positions, losses);
            }

            if (result is { } g)
            {
                // softmax - onehot(target).
                x.mul_(expSum.reciprocal().unsqueeze(1)).scatter_add_(1, target, minusOne.narrow(0, 0, k));
                Tensor xLow = products.Operand(x, xLowBuffer);
                Tensor dh = positions is null ? g.Hidden.narrow(0, first, k) : dHiddenChunk!.narrow(0, 0, k);
                products.AddTo(dh, xLow, weightLow, accumulate: false);
                if (positions is not null)
                {
                    g.Hidden.index_copy_(0, positions, dh);
                }

                products.AddTo(g.Weight, xLow.t(), hLow, accumulate: true, dWeightLow);
                g.Bias.add_(x.sum(dim: 0), HeldScalars.One);
            }
        }

        return (tokenLosses, rows, correct, result);
    }

    private readonly record struct Gradients(Tensor Hidden, Tensor Weight, Tensor Bias);

    // One call's settings (the input shapes for NaN gradients), and what its forward found besides the summed loss.
    private sealed record Run(
        long IgnoreIndex, long ChunkRows, bool Gradients, WorkspaceLease? Lease, bool ReleaseAfterBackward, long[][] InputShapes, ScalarType DType, Device Device, MatrixProducts Products)
    {
        public Tensor? TokenLosses { get; set; }

        public long Tokens { get; set; }

        public long Correct { get; set; }
    }
}
