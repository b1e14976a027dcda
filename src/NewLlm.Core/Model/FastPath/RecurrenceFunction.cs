using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm;

/// <summary>
/// The recurrent part of <see cref="NewLlmModel"/> as one autograd node with a hand-written backward through time.
/// </summary>
/// <remarks>
/// <para>
/// Inputs, in order (see <see cref="Apply"/>): the settings; the row of the first layer's table for every position,
/// int64 [B, T], and that table [N, H]: the first layer's pre-activation without its context share <c>X1</c>
/// (embedding share plus bias), computed outside in one product, per vocabulary entry or per position; the initial
/// context <c>c0</c> [B, C]; the first layer's context weight <c>Wc</c> [H, C]; the fused head weight <c>Wh</c>
/// [3C, H] (rows: context_update, forget_gate, input_gate) and bias [3C]; the LayerNorm weight and bias [C]; then the
/// weight [H, H] and bias [H] of every further FNN layer. Outputs: the last layer's hidden states [B, T, H] (after
/// dropout) and the context after every position [B, T, C].
/// </para>
/// <para>
/// Per position t, with dropout masks m [T, L, B, H] (<see cref="DropoutMask"/>: the same distribution as the
/// original's <c>F.dropout</c>; each row thread draws its own rows per position, in the loop):
/// <code>
/// h1 = relu(X1[t] + c_t Wc^T) * m1[t];  h_l = relu(h_(l-1) W_l^T + b_l) * m_l[t]
/// [u, f, i] = h_L Wh^T + bh;  f, i = sigmoid(f), sigmoid(i)
/// c_(t+1) = clamp(LayerNorm(f * c_t + i * u), -10, 10)
/// </code>
/// Both loops split the batch rows across threads (<see cref="RowParallel"/>). Per position they run the matrix
/// products in libtorch and the element-wise work in one fused pass per row (<see cref="RecurrenceKernels"/>, float32
/// on the CPU; libtorch operators otherwise). Only the hidden states, the gates (after bias and sigmoid) and the
/// contexts are saved; the backward recomputes the mixture and its normalisation. The backward accumulates every
/// weight and bias gradient position by position in each row thread (<see cref="ThreadGradients"/>, added in row
/// order at the end), while the position's slices are still in cache, so it allocates no [B, T, *] buffer.
/// </para>
/// </remarks>
internal sealed unsafe class RecurrenceFunction : autograd.MultiTensorFunction<RecurrenceFunction>
{
    private const string SettingsKey = "settings";
    private const double LayerNormEps = 1e-5;

    /// <inheritdoc/>
    public override string Name => "NewLlmRecurrence";

    /// <summary>Runs the recurrence, recording one node in the autograd graph when gradients are needed.</summary>
    /// <returns>The hidden states [B, T, H] of the last layer and the contexts [B, T, C] after every position.</returns>
    public static (Tensor Hidden, Tensor Contexts) Apply(
        double dropout,
        Tensor firstTable,
        Tensor firstIndex,
        bool firstTableRowPerPosition,
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
            new Settings(dropout, deeperLayers.Count + 1, initialContext.requires_grad, firstTable.requires_grad, firstTableRowPerPosition),
            firstIndex, firstTable, initialContext, contextWeight, headWeight, headBias, normWeight, normBias,
        };
        foreach ((Tensor weight, Tensor bias) in deeperLayers)
        {
            args.Add(weight);
            args.Add(bias);
        }

        List<Tensor> outputs = apply(args.ToArray());
        return (outputs[0], outputs[1]);
    }

    /// <inheritdoc/>
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var settings = (Settings)vars[0];
        Tensor index = (Tensor)vars[1];
        Tensor table = (Tensor)vars[2];
        Tensor c0 = (Tensor)vars[3];
        Tensor wc = (Tensor)vars[4];
        Tensor wh = (Tensor)vars[5];
        Tensor bh = (Tensor)vars[6];
        Tensor gamma = (Tensor)vars[7];
        Tensor beta = (Tensor)vars[8];
        int layers = settings.Layers;
        var w = new Tensor[layers];
        var b = new Tensor[layers];
        for (int l = 1; l < layers; l++)
        {
            w[l] = (Tensor)vars[9 + (2 * (l - 1))];
            b[l] = (Tensor)vars[10 + (2 * (l - 1))];
        }

        long batch = index.shape[0], time = index.shape[1], hidden = table.shape[1], c = c0.shape[1];
        var options = (table.dtype, table.device);

        // Hidden states of every layer (after dropout), B-major so that the output needs no transpose.
        var h = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            h[l] = empty(batch, time, hidden, dtype: options.dtype, device: options.device);
        }

        // Dropout masks: drawn by each row thread for its own rows, position by position (see DropoutMask).
        DropoutMask mask = DropoutMask.Draw(settings.Dropout, layers, batch, hidden);
        bool fused = UsesKernels(table);
        if (fused)
        {
            (index, table, c0, bh, gamma, beta) = (index.contiguous(), table.contiguous(), c0.contiguous(), bh.contiguous(), gamma.contiguous(), beta.contiguous());
            for (int l = 1; l < layers; l++)
            {
                b[l] = b[l].contiguous();
            }
        }

        Tensor gates = empty(batch, time, 3 * c, dtype: options.dtype, device: options.device);   // [u, f, i]; f and i after sigmoid
        Tensor contextsOut = empty(batch, time, c, dtype: options.dtype, device: options.device);
        Tensor wcT = wc.t();
        Tensor whT = wh.t();
        var wT = new Tensor[layers];
        for (int l = 1; l < layers; l++)
        {
            wT[l] = w[l].t();
        }

        // The fused path's row views, taken once (all these tensors live until the loop ends).
        TensorRows[] hRows = fused ? h.Select(x => new TensorRows(x)).ToArray() : [];
        TensorRows[] biasRows = fused ? b.Select(x => x is null ? default : new TensorRows(x)).ToArray() : [];
        (TensorRows gateRows, TensorRows contextRows, TensorRows startRows, TensorRows tableRows, TensorRows headBiasRows, TensorRows gammaRows, TensorRows betaRows) = fused
            ? (new TensorRows(gates), new TensorRows(contextsOut), new TensorRows(c0), new TensorRows(table), new TensorRows(bh), new TensorRows(gamma), new TensorRows(beta))
            : default;
        nint indexStart = fused ? (nint)TensorRows.OfIndex(index) : 0;

        long[] normalizedShape = { c };
        RowParallel.For(batch, (first, count) =>
        {
            using var rowsScope = NewDisposeScope();
            Tensor Rows(Tensor x) => x.narrow(0, first, count);
            var hr = h.Select(Rows).ToArray();
            float[]? maskData = mask.Active && !fused ? new float[checked((int)(layers * count * hidden))] : null;
            Tensor? mt = maskData is null ? null : frombuffer(maskData, ScalarType.Float32).view(layers, count, hidden);
            Tensor gr = Rows(gates), outr = Rows(contextsOut);
            float[] scratch = new float[c];
            Tensor context = Rows(c0);
            if (!fused)
            {
                // Biases and the first layer's rows filled in up front; the kernels add them per position instead.
                hr[0].copy_(table.index_select(0, Rows(index).reshape(-1)).view(count, time, hidden));
                for (int l = 1; l < layers; l++)
                {
                    hr[l].copy_(b[l].expand(count, time, hidden));
                }

                gr.copy_(bh.expand(count, time, 3 * c));
            }

            for (long t = 0; t < time; t++)
            {
                using var scope = NewDisposeScope();
                if (maskData is not null)
                {
                    mask.Fill(maskData, t, first, count);
                }

                if (fused)
                {
                    // Every index is a valid table row: token ids were checked against the vocabulary, or positions.
                    RecurrenceKernels.Gather(hRows[0].At(first, t), hRows[0].Stride, tableRows.Start(), (long*)indexStart + (first * time) + t, time, (int)count, (int)hidden);
                }

                for (int l = 0; l < layers; l++)
                {
                    // The first layer adds to its gathered rows; on the fused path deeper layers get their bias in the kernel.
                    Tensor ht = hr[l].select(1, t).addmm_(l == 0 ? context : hr[l - 1].select(1, t), l == 0 ? wcT : wT[l], beta: l == 0 || !fused ? 1 : 0);
                    if (fused)
                    {
                        float* bias = l == 0 ? null : biasRows[l].Start();
                        RecurrenceKernels.ReluDropout(hRows[l].At(first, t), hRows[l].Stride, bias, (int)count, (int)hidden, mask, t, l, first);
                    }
                    else
                    {
                        ht.relu_();
                        if (mt is not null)
                        {
                            // The masks are drawn on the CPU: moved to the model's device and dtype (a no-op for float32 on the CPU).
                            ht.mul_(mt.select(0, l).to(ht.dtype, ht.device));
                        }
                    }
                }

                Tensor g = gr.select(1, t).addmm_(hr[layers - 1].select(1, t), whT, beta: fused ? 0 : 1);
                Tensor nextContext = outr.select(1, t);
                if (fused)
                {
                    float* cRow = TensorRows.Before(contextRows, startRows, first, t, out long cStride);
                    fixed (float* work = scratch)
                    {
                        RecurrenceKernels.GatesAndNorm(
                            gateRows.At(first, t), gateRows.Stride, headBiasRows.Start(), cRow, cStride, contextRows.At(first, t), contextRows.Stride,
                            gammaRows.Start(), betaRows.Start(), work,
                            (int)count, (int)c, (float)LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
                    }
                }
                else
                {
                    g.narrow(1, c, 2 * c).sigmoid_();
                    Tensor m = Mix(g, context, c);
                    nextContext.copy_(F.layer_norm(m, normalizedShape, gamma, beta, LayerNormEps).clamp_(NewLlmModel.ContextClampMin, NewLlmModel.ContextClampMax));
                }

                context = nextContext.MoveToOuterDisposeScope();
            }
        });

        // Saved: what the backward reads. Dropout masks are not needed: h > 0 exactly where both the ReLU and the
        // mask passed, and the mask's value there is 1 / (1 - p).
        // Order: the nine below, then h of every layer, then the weight of every further layer.
        var saved = new List<Tensor> { c0, contextsOut, gates, wc, wh, gamma, beta, index, table };
        saved.AddRange(h);
        saved.AddRange(w.Skip(1));

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
            Tensor c0 = saved[0], contextsOut = saved[1], gates = saved[2], wc = saved[3], wh = saved[4], gamma = saved[5], beta = saved[6];
            Tensor index = saved[7], table = saved[8];
            var h = new Tensor[layers];
            var w = new Tensor[layers];
            for (int l = 0; l < layers; l++)
            {
                h[l] = saved[9 + l];
                if (l > 0)
                {
                    w[l] = saved[9 + layers + l - 1];
                }
            }

            long batch = h[0].shape[0], time = h[0].shape[1], hidden = h[0].shape[2], c = c0.shape[1];
            bool fused = UsesKernels(h[0]);
            Tensor? dHidden = grad_outputs[0] is { IsInvalid: false } gh ? gh.contiguous() : null;
            Tensor? dContextsOut = grad_outputs[1] is { IsInvalid: false } gc ? gc.contiguous() : null;
            float keep = settings.Dropout > 0 ? (float)(1 / (1 - settings.Dropout)) : 1f;
            var options = (dtype: h[0].dtype, device: h[0].device);

            // One table row per position (the large-vocabulary case): each row's gradient is written once, by the
            // thread that owns its position, into one shared tensor. Otherwise each thread adds into its own.
            Tensor? sharedTableGrad = settings.TableNeedsGrad && settings.TableRowPerPosition ? zeros_like(table) : null;
            Tensor dInitial = zeros_like(c0);
            var parts = new SortedDictionary<long, ThreadGradients>();

            // The fused path's row views, taken once (all these tensors live until the loop ends).
            TensorRows[] hRows = fused ? h.Select(x => new TensorRows(x)).ToArray() : [];
            (TensorRows gateRows, TensorRows contextRows, TensorRows startRows, TensorRows gammaRows, TensorRows betaRows) = fused
                ? (new TensorRows(gates), new TensorRows(contextsOut), new TensorRows(c0), new TensorRows(gamma), new TensorRows(beta))
                : default;
            TensorRows? dHiddenRows = fused && dHidden is not null ? new TensorRows(dHidden) : null;

            // Every weight gradient is accumulated position by position in the loop, while the position's slices are
            // still in cache: no [B, T, *] gradient buffer is allocated.
            RowParallel.For(batch, (first, count) =>
            {
                var sums = new ThreadGradients(layers, hidden, c, settings.TableNeedsGrad && !settings.TableRowPerPosition ? table.shape[0] : 0, options.dtype, options.device);
                using var rowsScope = NewDisposeScope();
                Tensor Rows(Tensor x) => x.narrow(0, first, count);
                Tensor gr = Rows(gates), outr = Rows(contextsOut), c0r = Rows(c0), indexRows = Rows(index);
                Tensor u = gr.narrow(2, 0, c), f = gr.narrow(2, c, c), i = gr.narrow(2, 2 * c, c);
                var hr = h.Select(Rows).ToArray();
                Tensor dg = empty(count, 3 * c, dtype: options.dtype, device: options.device);
                var da = new Tensor[layers];
                for (int l = 0; l < layers; l++)
                {
                    da[l] = empty(count, hidden, dtype: options.dtype, device: options.device);
                }

                // The gradient reaching the context after position t (dc) and the one being formed for t - 1.
                Tensor dc = zeros(count, c, dtype: options.dtype, device: options.device);
                Tensor dcPrevious = empty(count, c, dtype: options.dtype, device: options.device);
                float[] scratch = new float[Math.Max(8 * c, hidden)];
                TensorRows dgRows = fused ? new TensorRows(dg) : default;
                TensorRows[] daRows = fused ? da.Select(x => new TensorRows(x)).ToArray() : [];
                (TensorRows dcRows, TensorRows dcPreviousRows) = fused ? (new TensorRows(dc), new TensorRows(dcPrevious)) : default;
                double[] biasSums = fused ? new double[3 * c + ((layers - 1) * hidden)] : Array.Empty<double>();
                double[] normSums = fused ? new double[2 * c] : Array.Empty<double>();
                for (long t = time - 1; t >= 0; t--)
                {
                    using var scope = NewDisposeScope();
                    if (dContextsOut is not null)
                    {
                        dc.add_(Rows(dContextsOut).select(1, t));
                    }

                    Tensor cin = t > 0 ? outr.select(1, t - 1) : c0r;
                    if (fused)
                    {
                        float* cRow = TensorRows.Before(contextRows, startRows, first, t, out long cStride);
                        fixed (double* bias = biasSums, norm = normSums)
                        fixed (float* work = scratch)
                        {
                            RecurrenceKernels.GatesAndNormBackward(
                                dcRows.Start(), c, gateRows.At(first, t), gateRows.Stride, cRow, cStride, dgRows.Start(), 3 * c, dcPreviousRows.Start(), c,
                                gammaRows.Start(), betaRows.Start(), bias, norm, norm + c, work, (int)count, (int)c,
                                (float)LayerNormEps, (float)NewLlmModel.ContextClampMin, (float)NewLlmModel.ContextClampMax);
                        }
                    }
                    else
                    {
                        GatesAndNormBackward(dc, u.select(1, t), f.select(1, t), i.select(1, t), cin, gamma, beta, dg, dcPrevious, sums);
                    }

                    // The heads, then back through the FNN: relu and dropout pass where h > 0, scaled by 1 / (1 - p).
                    sums.HeadWeight.addmm_(dg.t(), hr[layers - 1].select(1, t));
                    for (int l = layers - 1; l >= 0; l--)
                    {
                        da[l].addmm_(l == layers - 1 ? dg : da[l + 1], l == layers - 1 ? wh : w[l + 1], beta: 0);
                        if (fused)
                        {
                            bool addsHidden = l == layers - 1 && dHiddenRows is not null;
                            float* addRow = addsHidden ? dHiddenRows!.Value.At(first, t) : null;
                            long addStride = addsHidden ? dHiddenRows!.Value.Stride : 0;
                            fixed (double* bias = biasSums)
                            fixed (float* work = scratch)
                            {
                                double* layerBias = l > 0 ? bias + (3 * c) + ((l - 1) * hidden) : null;
                                RecurrenceKernels.ReluDropoutBackward(daRows[l].Start(), hidden, addRow, addStride, hRows[l].At(first, t), hRows[l].Stride, (int)count, (int)hidden, keep, layerBias, work);
                            }
                        }
                        else
                        {
                            if (l == layers - 1 && dHidden is not null)
                            {
                                da[l].add_(Rows(dHidden).select(1, t));
                            }

                            da[l].mul_(hr[l].select(1, t).gt(0)).mul_(keep);
                            if (l > 0)
                            {
                                sums.LayerBiases[l].add_(da[l].sum(new long[] { 0 }));
                            }
                        }

                        if (l > 0)
                        {
                            sums.LayerWeights[l].addmm_(da[l].t(), hr[l - 1].select(1, t));
                        }
                    }

                    sums.ContextWeight.addmm_(da[0].t(), cin);
                    if (sums.Table is not null)
                    {
                        sums.Table.index_add_(0, indexRows.select(1, t), da[0], 1);
                    }
                    else if (sharedTableGrad is not null)
                    {
                        sharedTableGrad.index_add_(0, indexRows.select(1, t), da[0], 1);
                    }

                    dcPrevious.addmm_(da[0], wc);
                    (dc, dcPrevious) = (dcPrevious, dc);
                    (dcRows, dcPreviousRows) = (dcPreviousRows, dcRows);
                }

                Rows(dInitial).copy_(dc);
                if (fused)
                {
                    sums.TakeSums(biasSums, normSums);
                }

                lock (parts)
                {
                    parts.Add(first, sums);
                }
            });

            // The row threads' sums, added in row order (the same result whatever thread finished first).
            ThreadGradients total = parts.Values.First();
            foreach (ThreadGradients part in parts.Values.Skip(1))
            {
                total.Add(part);
                part.Dispose();   // made on a row thread, outside any dispose scope
            }

            result.Add(null!);                 // settings
            result.Add(null!);                 // index
            result.Add(sharedTableGrad ?? total.Table!);
            result.Add(settings.InitialContextNeedsGrad ? dInitial : null!);
            result.Add(total.ContextWeight);
            result.Add(total.HeadWeight);
            result.Add(total.HeadBias);
            result.Add(total.NormWeight);
            result.Add(total.NormBias);
            for (int l = 1; l < layers; l++)
            {
                result.Add(total.LayerWeights[l]);
                result.Add(total.LayerBiases[l]);
            }

            foreach (Tensor? g in result)
            {
                g?.MoveToOuterDisposeScope();
            }
        }

        return result;
    }

    /// <summary>m = f * c + i * u with f and i after sigmoid, from the gates [rows, 3C] = [u, f, i].</summary>
    private static Tensor Mix(Tensor gates, Tensor context, long c) =>
        gates.narrow(1, 0, c).mul(gates.narrow(1, 2 * c, c)).addcmul_(gates.narrow(1, c, c), context, 1);

    /// <summary>
    /// The backward of the gates, LayerNorm and clamp at one position with libtorch operators (the path for other
    /// dtypes and devices; <see cref="RecurrenceKernels.GatesAndNormBackward"/> is the float32 CPU one).
    /// </summary>
    private static void GatesAndNormBackward(Tensor dc, Tensor u, Tensor f, Tensor i, Tensor cin, Tensor gamma, Tensor beta, Tensor dg, Tensor dcPrevious, ThreadGradients sums)
    {
        long c = u.shape[1];
        long[] lastDim = { -1 };
        Tensor m = u.mul(i).addcmul_(f, cin, 1);   // as Mix in the forward

        // LayerNorm statistics and the clamp's pass-through mask (min <= y <= max, as torch's clamp).
        Tensor xt = m - m.mean(lastDim, keepdim: true);
        Tensor rstd = xt.square().mean(lastDim, keepdim: true).add_(LayerNormEps).rsqrt_();
        xt.mul_(rstd);
        Tensor y = addcmul(beta, xt, gamma, 1);
        Tensor pass = y.ge(NewLlmModel.ContextClampMin).logical_and_(y.le(NewLlmModel.ContextClampMax));
        Tensor dy = dc * pass;
        sums.NormWeight.add_((dy * xt).sum(new long[] { 0 }));
        sums.NormBias.add_(dy.sum(new long[] { 0 }));

        // LayerNorm backward, then the gates: mixed = f * c + i * u.
        Tensor dxhat = dy * gamma;
        Tensor meanD = dxhat.mean(lastDim, keepdim: true);
        Tensor meanDx = (dxhat * xt).mean(lastDim, keepdim: true);
        Tensor dm = dxhat.sub_(meanD).addcmul_(xt, meanDx, -1).mul_(rstd);
        dg.narrow(1, 0, c).copy_(i).mul_(dm);
        dg.narrow(1, c, c).copy_(f).addcmul_(f, f, -1).mul_(cin).mul_(dm);
        dg.narrow(1, 2 * c, c).copy_(i).addcmul_(i, i, -1).mul_(u).mul_(dm);
        sums.HeadBias.add_(dg.sum(new long[] { 0 }));
        dcPrevious.copy_(dm).mul_(f);
    }

    /// <summary>Whether the loops use <see cref="RecurrenceKernels"/>: float32 tensors on the CPU (otherwise libtorch operators, any dtype or device).</summary>
    private static bool UsesKernels(Tensor like) => like.dtype == ScalarType.Float32 && like.device_type == DeviceType.CPU;

    /// <summary>What the function needs besides tensors.</summary>
    /// <param name="Dropout">Dropout probability; 0 when not training.</param>
    /// <param name="Layers">Number of FNN layers.</param>
    /// <param name="InitialContextNeedsGrad">Whether a gradient for the initial context is returned.</param>
    /// <param name="TableNeedsGrad">Whether a gradient for the first layer's table is returned.</param>
    /// <param name="TableRowPerPosition">Whether the table has one row per position (read by that position only).</param>
    private sealed record Settings(double Dropout, int Layers, bool InitialContextNeedsGrad, bool TableNeedsGrad, bool TableRowPerPosition);
}
