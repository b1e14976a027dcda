using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// The recurrent part of <see cref="NewLlmModel"/> as one autograd node with a hand-written backward through time.
/// </summary>
/// <remarks>
/// <para>
/// Inputs, in order (see <see cref="Apply"/>): the settings, the first layer's pre-activation without its context
/// share <c>X1</c> [B, T, H] (embedding share plus bias, computed outside for all positions in one product), the
/// initial context <c>c0</c> [B, C], the first layer's context weight <c>Wc</c> [H, C], the fused head weight
/// <c>Wh</c> [3C, H] (rows: context_update, forget_gate, input_gate) and bias [3C], the LayerNorm weight and bias
/// [C], then the weight [H, H] and bias [H] of every further FNN layer. Outputs: the last layer's hidden states
/// [B, T, H] (after dropout) and the context after every position [B, T, C].
/// </para>
/// <para>
/// Per position t, with dropout masks m [T, L, B, H] (<see cref="DropoutMasks"/>: the same distribution as the
/// original's <c>F.dropout</c>; each row thread draws its own rows per position, in the loop):
/// <code>
/// h1 = relu(X1[t] + c_t Wc^T) * m1[t];  h_l = relu(h_(l-1) W_l^T + b_l) * m_l[t]
/// [u, f, i] = h_L Wh^T + bh;  f, i = sigmoid(f), sigmoid(i)
/// c_(t+1) = clamp(LayerNorm(f * c_t + i * u), -10, 10)
/// </code>
/// The backward keeps only two (plus one per further layer) matrix products per position in the sequential loop,
/// with the element-wise work (LayerNorm statistics and backward, clamp mask, gate and ReLU/dropout derivatives)
/// done per position on cache-sized slices; every weight gradient is one large product over all positions after
/// it. Both loops split the batch rows across threads (<see cref="RowParallel"/>); only the hidden states, gates,
/// LayerNorm inputs and contexts are saved.
/// </para>
/// </remarks>
internal sealed class RecurrenceFunction : autograd.MultiTensorFunction<RecurrenceFunction>
{
    private const string SettingsKey = "settings";
    private const double LayerNormEps = 1e-5;

    /// <inheritdoc/>
    public override string Name => "NewLlmRecurrence";

    /// <summary>Runs the recurrence, recording one node in the autograd graph when gradients are needed.</summary>
    /// <returns>The hidden states [B, T, H] of the last layer and the contexts [B, T, C] after every position.</returns>
    public static (Tensor Hidden, Tensor Contexts) Apply(
        double dropout,
        Tensor firstPre,
        Tensor initialContext,
        Tensor contextWeight,
        Tensor headWeight,
        Tensor headBias,
        Tensor normWeight,
        Tensor normBias,
        IReadOnlyList<(Tensor Weight, Tensor Bias)> deeperLayers)
    {
        var args = new List<object>
        {
            new Settings(dropout, deeperLayers.Count + 1, initialContext.requires_grad),
            firstPre, initialContext, contextWeight, headWeight, headBias, normWeight, normBias,
        };
        foreach ((Tensor weight, Tensor bias) in deeperLayers)
        {
            args.Add(weight);
            args.Add(bias);
        }

        List<Tensor> outputs = apply(args.ToArray());
        return (outputs[0], outputs[1]);
    }

    /// <summary>
    /// Dropout masks for the fast path, [T, L, B, H]: element (t, l, b, j) is kept (1 / (1 - p)) where a uniform draw
    /// u in [0, 1) (24 bits of SplitMix64 at index ((t L + l) B + b) H + j, keyed by one 63-bit seed drawn from
    /// torch's global generator) is >= p, dropped (0) otherwise: the same distribution as <c>F.dropout</c>, and every
    /// element computable on its own, so the row threads draw their own rows in the loop.
    /// </summary>
    internal static Tensor DropoutMasks(long time, int layers, long batch, long hidden, double dropout)
    {
        ulong seed = DropoutSeed();
        var data = new float[checked((int)(time * layers * batch * hidden))];
        long block = layers * batch * hidden;
        for (long t = 0; t < time; t++)
        {
            FillMaskRows(data.AsSpan((int)(t * block), (int)block), seed, t, layers, batch, hidden, 0, batch, dropout);
        }

        return tensor(data, new[] { time, layers, batch, hidden });
    }

    /// <summary>The masks' seed: one draw from torch's global generator (so <c>torch.manual_seed</c> makes them reproducible).</summary>
    private static ulong DropoutSeed()
    {
        using Tensor seed = randint(0, long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64);
        return (ulong)seed.item<long>();
    }

    /// <summary>Writes the masks of position <paramref name="t"/> for rows [firstRow, firstRow + rows) as [L, rows, H].</summary>
    private static void FillMaskRows(Span<float> destination, ulong seed, long t, int layers, long batch, long hidden, long firstRow, long rows, double dropout)
    {
        uint threshold = (uint)Math.Ceiling(dropout * (1 << 24));
        float scale = (float)(1 / (1 - dropout));
        int k = 0;
        for (int l = 0; l < layers; l++)
        {
            for (long r = 0; r < rows; r++)
            {
                ulong index = (ulong)((((((t * layers) + l) * batch) + firstRow + r) * hidden) + 1);
                for (long j = 0; j < hidden; j++, index++)
                {
                    ulong z = seed + (index * 0x9E3779B97F4A7C15UL);
                    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
                    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
                    z ^= z >> 31;
                    destination[k++] = (uint)(z >> 40) >= threshold ? scale : 0f;
                }
            }
        }
    }

    /// <inheritdoc/>
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var settings = (Settings)vars[0];
        Tensor x1 = (Tensor)vars[1];
        Tensor c0 = (Tensor)vars[2];
        Tensor wc = (Tensor)vars[3];
        Tensor wh = (Tensor)vars[4];
        Tensor bh = (Tensor)vars[5];
        Tensor gamma = (Tensor)vars[6];
        Tensor beta = (Tensor)vars[7];
        int layers = settings.Layers;
        var w = new Tensor[layers];
        var b = new Tensor[layers];
        for (int l = 1; l < layers; l++)
        {
            w[l] = (Tensor)vars[8 + (2 * (l - 1))];
            b[l] = (Tensor)vars[9 + (2 * (l - 1))];
        }

        long batch = x1.shape[0], time = x1.shape[1], hidden = x1.shape[2], c = c0.shape[1];
        var options = (x1.dtype, x1.device);

        // Hidden states of every layer (after dropout), B-major so that the output needs no transpose.
        var h = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            h[l] = empty(batch, time, hidden, dtype: options.dtype, device: options.device);
        }

        // Dropout masks: drawn by each row thread for its own rows, position by position (see DropoutMasks).
        double dropout = settings.Dropout;
        ulong maskSeed = dropout > 0 ? DropoutSeed() : 0;

        Tensor gates = empty(batch, time, 3 * c, dtype: options.dtype, device: options.device);   // [u, f, i]; f and i after sigmoid
        Tensor mixed = empty(batch, time, c, dtype: options.dtype, device: options.device);
        Tensor contextsOut = empty(batch, time, c, dtype: options.dtype, device: options.device);
        Tensor wcT = wc.t();
        Tensor whT = wh.t();
        var wT = new Tensor[layers];
        for (int l = 1; l < layers; l++)
        {
            wT[l] = w[l].t();
        }

        long[] normalizedShape = { c };
        RowParallel.For(batch, (first, count) =>
        {
            using var rowsScope = NewDisposeScope();
            Tensor Rows(Tensor x) => x.narrow(0, first, count);
            var hr = h.Select(Rows).ToArray();
            float[]? maskData = dropout > 0 ? new float[checked((int)(layers * count * hidden))] : null;
            Tensor? mt = maskData is null ? null : frombuffer(maskData, ScalarType.Float32).view(layers, count, hidden);
            Tensor gr = Rows(gates), mixr = Rows(mixed), outr = Rows(contextsOut);
            Tensor context = Rows(c0);
            hr[0].copy_(Rows(x1));
            for (int l = 1; l < layers; l++)
            {
                hr[l].copy_(b[l].expand(count, time, hidden));
            }

            gr.copy_(bh.expand(count, time, 3 * c));
            for (long t = 0; t < time; t++)
            {
                using var scope = NewDisposeScope();
                if (maskData is not null)
                {
                    FillMaskRows(maskData, maskSeed, t, layers, batch, hidden, first, count, dropout);
                }

                Tensor ht = hr[0].select(1, t).addmm_(context, wcT).relu_();
                if (mt is not null)
                {
                    ht.mul_(mt.select(0, 0));
                }

                for (int l = 1; l < layers; l++)
                {
                    Tensor next = hr[l].select(1, t).addmm_(ht, wT[l]).relu_();
                    if (mt is not null)
                    {
                        next.mul_(mt.select(0, l));
                    }

                    ht = next;
                }

                Tensor g = gr.select(1, t).addmm_(ht, whT);
                g.narrow(1, c, 2 * c).sigmoid_();
                Tensor m = mixr.select(1, t).copy_(g.narrow(1, 0, c)).mul_(g.narrow(1, 2 * c, c)).addcmul_(g.narrow(1, c, c), context, 1);
                Tensor nextContext = outr.select(1, t);
                nextContext.copy_(F.layer_norm(m, normalizedShape, gamma, beta, LayerNormEps).clamp_(NewLlmModel.ContextClampMin, NewLlmModel.ContextClampMax));
                context = nextContext.MoveToOuterDisposeScope();
            }
        });

        // Saved: what the backward reads. Dropout masks are not needed: h > 0 exactly where both the ReLU and the
        // mask passed, and the mask's value there is 1 / (1 - p).
        var saved = new List<Tensor> { c0, contextsOut, gates, mixed, wc, wh, gamma, beta };
        for (int l = 0; l < layers; l++)
        {
            saved.Add(h[l]);
            saved.Add(l == 0 ? wc : w[l]);
        }

        ctx.save_for_backward(saved);
        ctx.save_data(SettingsKey, settings);

        // Unused outputs get no gradient (null) rather than zeros: TorchSharp materialises zeros from a cache of
        // the outputs that a dispose scope around the forward may already have freed.
        ctx.set_materialize_grads(false);

        // Views, so that the outputs are distinct from the saved buffers.
        return new List<Tensor> { h[layers - 1].view(batch, time, hidden), contextsOut.view(batch, time, c) };
    }

    /// <inheritdoc/>
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var settings = (Settings)ctx.get_data(SettingsKey);
        int layers = settings.Layers;
        var result = new List<Tensor>();
        using (var outer = NewDisposeScope())
        {
            List<Tensor> saved = ctx.get_saved_variables();
            Tensor c0 = saved[0], contextsOut = saved[1], gates = saved[2], mixed = saved[3], wc = saved[4], wh = saved[5], gamma = saved[6], beta = saved[7];
            var h = new Tensor[layers];
            var w = new Tensor[layers];
            for (int l = 0; l < layers; l++)
            {
                h[l] = saved[8 + (2 * l)];
                w[l] = saved[9 + (2 * l)];
            }

            long batch = h[0].shape[0], time = h[0].shape[1], hidden = h[0].shape[2], c = c0.shape[1];
            long rows = batch * time;
            Tensor dHidden = grad_outputs[0] is { IsInvalid: false } gh ? gh.contiguous() : zeros_like(h[layers - 1]);
            Tensor dContexts = grad_outputs[1] is { IsInvalid: false } gc ? gc.clone() : zeros_like(contextsOut);
            Tensor contextsIn = cat(new[] { c0.unsqueeze(1), contextsOut.narrow(1, 0, time - 1) }, 1);

            Tensor u = gates.narrow(2, 0, c), f = gates.narrow(2, c, c), i = gates.narrow(2, 2 * c, c);
            double keep = settings.Dropout > 0 ? 1 / (1 - settings.Dropout) : 1.0;

            // Filled position by position in the loop: d a_l (the pre-activations), d [u, f_pre, i_pre], the
            // normalised mixture, and (in place of the incoming context gradient) the gradient of the LayerNorm output.
            var da = new Tensor[layers];
            for (int l = 0; l < layers; l++)
            {
                da[l] = empty_like(h[l]);
            }

            Tensor dGatesAll = empty_like(gates);
            Tensor xhatAll = empty_like(mixed);
            Tensor dInitial = empty_like(c0);
            long[] lastDim = { -1 };

            RowParallel.For(batch, (first, count) =>
            {
                using var rowsScope = NewDisposeScope();
                Tensor Rows(Tensor x) => x.narrow(0, first, count);
                Tensor dcr = Rows(dContexts), xr = Rows(xhatAll), mr = Rows(mixed), dgr = Rows(dGatesAll), dhr = Rows(dHidden);
                Tensor ur = Rows(u), fr = Rows(f), ir = Rows(i), outr = Rows(contextsOut), c0r = Rows(c0);
                var hr = h.Select(Rows).ToArray();
                var dar = da.Select(Rows).ToArray();
                for (long t = time - 1; t >= 0; t--)
                {
                    using var scope = NewDisposeScope();

                    // LayerNorm statistics and the clamp's pass-through mask (min <= y <= max, as torch's clamp).
                    Tensor m = mr.select(1, t);
                    Tensor xt = xr.select(1, t).copy_(m).sub_(m.mean(lastDim, keepdim: true));
                    Tensor rstd = xt.square().mean(lastDim, keepdim: true).add_(LayerNormEps).rsqrt_();
                    xt.mul_(rstd);
                    Tensor pass = addcmul(beta, xt, gamma, 1).abs_().le_(NewLlmModel.ContextClampMax);

                    // LayerNorm backward.
                    Tensor dy = dcr.select(1, t).mul_(pass);
                    Tensor dxhat = dy * gamma;
                    Tensor meanD = dxhat.mean(lastDim, keepdim: true);
                    Tensor meanDx = (dxhat * xt).mean(lastDim, keepdim: true);
                    Tensor dm = dxhat.sub_(meanD).addcmul_(xt, meanDx, -1).mul_(rstd);

                    // Gates: mixed = f * c + i * u.
                    Tensor ft = fr.select(1, t), it = ir.select(1, t);
                    Tensor cin = t > 0 ? outr.select(1, t - 1) : c0r;
                    Tensor dg = dgr.select(1, t);
                    dg.narrow(1, 0, c).copy_(it).mul_(dm);
                    dg.narrow(1, c, c).copy_(ft).addcmul_(ft, ft, -1).mul_(cin).mul_(dm);
                    dg.narrow(1, 2 * c, c).copy_(it).addcmul_(it, it, -1).mul_(ur.select(1, t)).mul_(dm);

                    // Back through the FNN: ReLU and dropout pass where h > 0, scaled by 1 / (1 - p).
                    Tensor dh = dhr.select(1, t).addmm(dg, wh);
                    for (int l = layers - 1; l >= 0; l--)
                    {
                        Tensor dal = dar[l].select(1, t).copy_(hr[l].select(1, t)).sign_().mul_(dh);
                        if (settings.Dropout > 0)
                        {
                            dal.mul_(keep);
                        }

                        if (l > 0)
                        {
                            dh = dal.mm(w[l]);
                        }
                    }

                    Tensor dPrevious = t > 0 ? dcr.select(1, t - 1) : Rows(dInitial).zero_();
                    dPrevious.addcmul_(dm, ft, 1).addmm_(dar[0].select(1, t), wc);
                }
            });

            // Weight gradients: one product over all positions each.
            Tensor dGates = dGatesAll.view(rows, 3 * c);
            Tensor dHeadWeight = dGates.t().mm(h[layers - 1].view(rows, hidden));
            Tensor dHeadBias = dGates.sum(new long[] { 0 });
            Tensor dContextWeight = da[0].view(rows, hidden).t().mm(contextsIn.view(rows, c));
            Tensor dNormed = dContexts;
            Tensor dGamma = (dNormed * xhatAll).view(rows, c).sum(new long[] { 0 });
            Tensor dBeta = dNormed.view(rows, c).sum(new long[] { 0 });

            result.Add(null!);                 // settings
            result.Add(da[0]);                 // firstPre
            result.Add(settings.InitialContextNeedsGrad ? dInitial : null!);
            result.Add(dContextWeight);
            result.Add(dHeadWeight);
            result.Add(dHeadBias);
            result.Add(dGamma);
            result.Add(dBeta);
            for (int l = 1; l < layers; l++)
            {
                Tensor dal = da[l].view(rows, hidden);
                result.Add(dal.t().mm(h[l - 1].view(rows, hidden)));
                result.Add(dal.sum(new long[] { 0 }));
            }

            foreach (Tensor? g in result)
            {
                g?.MoveToOuterDisposeScope();
            }
        }

        return result;
    }

    /// <summary>What the function needs besides tensors.</summary>
    /// <param name="Dropout">Dropout probability; 0 when not training.</param>
    /// <param name="Layers">Number of FNN layers.</param>
    /// <param name="InitialContextNeedsGrad">Whether a gradient for the initial context is returned.</param>
    private sealed record Settings(double Dropout, int Layers, bool InitialContextNeedsGrad);
}
