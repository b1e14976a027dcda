using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm;

/// <summary>
/// The output layer and next-token cross-entropy as one autograd node that never holds the logits of all positions:
/// <c>sum_n [logsumexp(W h_n + b) - (W h_n + b)[y_n]]</c> over the positions n whose target y_n is not ignored,
/// computed for a chunk of positions at a time in a scratch buffer [chunk, V].
/// </summary>
/// <remarks>
/// <para>
/// When gradients are wanted, each chunk's softmax is turned into its gradient while it is at hand,
/// <c>dlogits = softmax - onehot(y)</c> (0 on ignored rows), and folded into the gradients of the hidden states
/// (<c>dlogits W</c>), the weight (<c>dlogits^T h</c>) and the bias (<c>sum dlogits</c>); the backward scales them by the
/// incoming gradient. Three matrix products per chunk, as the unchunked path's forward and backward, instead of
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
    /// <inheritdoc/>
    public override string Name => "NewLlmChunkedCrossEntropy";

    /// <summary>The loss over every position of <paramref name="hidden"/>.</summary>
    /// <param name="hidden">Hidden states [N, H].</param>
    /// <param name="weight">The output layer's weight [V, H].</param>
    /// <param name="bias">Its bias [V].</param>
    /// <param name="targets">The target of every position, int64 [N]: in [0, V) or <paramref name="ignoreIndex"/>.</param>
    /// <param name="ignoreIndex">The target id that is not counted.</param>
    /// <param name="chunkRows">Positions per chunk; <see cref="NewLlmLoss.ChunkPositions"/> when null.</param>
    /// <returns>The summed loss (a scalar in the graph), every position's loss [N] (detached), the counted targets and the correct argmaxes among them.</returns>
    public static (Tensor Sum, Tensor TokenLosses, long Tokens, long Correct) Apply(Tensor hidden, Tensor weight, Tensor bias, Tensor targets, long ignoreIndex, long? chunkRows = null)
    {
        bool gradients = is_grad_enabled() && (hidden.requires_grad || weight.requires_grad || bias.requires_grad);
        long rows = chunkRows ?? NewLlmLoss.ChunkPositions(hidden.shape[0], weight.shape[0], hidden.ElementSize);
        var run = new Run(ignoreIndex, Math.Max(1, rows), gradients);
        Tensor sum = apply(run, hidden, weight, bias, targets)[0];
        return (sum, run.TokenLosses!, run.Tokens, run.Correct);
    }

    /// <inheritdoc/>
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var run = (Run)vars[0];
        var hidden = (Tensor)vars[1];
        var weight = (Tensor)vars[2];
        var bias = (Tensor)vars[3];
        var targets = (Tensor)vars[4];
        (Tensor tokenLosses, Tensor correct, Gradients? gradients) = Chunks(run, hidden, weight, bias, targets, run.Gradients);
        run.TokenLosses = tokenLosses;
        run.Tokens = targets.ne(run.IgnoreIndex).sum().item<long>();
        run.Correct = correct.item<long>();
        if (gradients is { } g)
        {
            ctx.save_for_backward(new List<Tensor> { g.Hidden, g.Weight, g.Bias });
        }

        return new List<Tensor> { tokenLosses.sum() };
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        // The gradients were formed in the forward; scaled copies, so that a retained graph can be backwarded again.
        List<Tensor> saved = ctx.get_saved_variables();
        Tensor scale = grad_outputs[0];
        return new List<Tensor> { null!, saved[0].mul(scale), saved[1].mul(scale), saved[2].mul(scale), null! };
    }

    /// <summary>
    /// The chunk loop: every position's loss [N] (0 at ignored targets), the count of correct argmaxes, and, when
    /// <paramref name="gradients"/>, the loss sum's gradients for the hidden states, weight and bias.
    /// </summary>
    private static (Tensor TokenLosses, Tensor Correct, Gradients? Gradients) Chunks(Run run, Tensor hidden, Tensor weight, Tensor bias, Tensor targets, bool gradients)
    {
        long n = hidden.shape[0], vocab = weight.shape[0], width = hidden.shape[1];
        var options = (dtype: hidden.dtype, device: hidden.device);
        Tensor kept = targets.ne(run.IgnoreIndex);
        Tensor keptScale = kept.to_type(options.dtype);
        Tensor ignored = kept.logical_not();
        Tensor gatherIndex = targets.masked_fill(ignored, 0).unsqueeze(1);   // ignored rows read column 0
        Tensor tokenLosses = empty(n, dtype: options.dtype, device: options.device);
        Tensor correct = zeros(1, dtype: ScalarType.Int64, device: options.device);
        Tensor logits = empty(Math.Min(run.ChunkRows, n), vocab, dtype: options.dtype, device: options.device);
        Tensor weightT = weight.t();
        Gradients? result = gradients
            ? new Gradients(
                empty(n, width, dtype: options.dtype, device: options.device),
                zeros(vocab, width, dtype: options.dtype, device: options.device),
                zeros(vocab, dtype: options.dtype, device: options.device))
            : null;

        for (long start = 0; start < n; start += run.ChunkRows)
        {
            using var scope = NewDisposeScope();
            long k = Math.Min(run.ChunkRows, n - start);
            Tensor x = logits.narrow(0, 0, k);
            Tensor h = hidden.narrow(0, start, k);
            Tensor index = gatherIndex.narrow(0, start, k);
            Tensor keep = kept.narrow(0, start, k);
            x.copy_(bias.expand(k, vocab)).addmm_(h, weightT);

            correct.add_(x.argmax(1).eq(index.squeeze(1)).logical_and(keep).sum());
            Tensor picked = x.gather(1, index).squeeze(1);
            Tensor max = x.amax(new long[] { 1 }, keepdim: true);
            Tensor expSum = x.sub_(max).exp_().sum(dim: 1);   // x now holds exp(logits - max)
            Tensor logSumExp = max.squeeze(1).add(expSum.log());
            tokenLosses.narrow(0, start, k).copy_(logSumExp.sub_(picked).masked_fill_(ignored.narrow(0, start, k), 0));

            if (result is { } g)
            {
                // softmax - onehot(target) on kept rows, 0 on ignored ones.
                Tensor keepRows = keptScale.narrow(0, start, k);
                x.mul_(keepRows.div(expSum).unsqueeze(1)).scatter_add_(1, index, keepRows.neg().unsqueeze(1));
                g.Hidden.narrow(0, start, k).addmm_(x, weight, beta: 0);
                g.Weight.addmm_(x.t(), h);
                g.Bias.add_(x.sum(dim: 0));
            }
        }

        return (tokenLosses, correct, result);
    }

    /// <summary>The loss sum's gradients: hidden states [N, H], weight [V, H], bias [V].</summary>
    private readonly record struct Gradients(Tensor Hidden, Tensor Weight, Tensor Bias);

    /// <summary>One call's settings, and what its forward found besides the summed loss.</summary>
    private sealed class Run(long ignoreIndex, long chunkRows, bool gradients)
    {
        public long IgnoreIndex { get; } = ignoreIndex;

        public long ChunkRows { get; } = chunkRows;

        public bool Gradients { get; } = gradients;

        public Tensor? TokenLosses { get; set; }

        public long Tokens { get; set; }

        public long Correct { get; set; }
    }
}
