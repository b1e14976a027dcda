namespace NewLlm;

/// <summary>
/// The time loops of <see cref="RecurrenceFunction"/>: the recurrence of <see cref="ContextRecurrence.Reference"/>
/// forward, and its hand-written backward through time. Per position they run the matrix products in libtorch and
/// leave the element-wise work to a <see cref="RecurrenceStrategy"/>.
/// </summary>
/// <remarks>
/// Per position t, with dropout masks m (<see cref="DropoutMask"/>) and X1 the first layer's table (embedding share plus bias):
/// <code>
/// h1 = relu(X1[t] + c_t Wc^T) * m1[t];  h_l = relu(h_(l-1) W_l^T + b_l) * m_l[t]
/// [u, f, i] = h_L Wh^T + bh;  f, i = sigmoid(f), sigmoid(i)
/// c_(t+1) = clamp(LayerNorm(f * c_t + i * u), -10, 10)
/// </code>
/// Both loops split the batch rows across threads (<see cref="RowParallel"/>). The backward accumulates the weight
/// gradients in each row thread a few positions at a time (<see cref="WeightGradientBlock"/>, into
/// <see cref="ThreadGradients"/>, added in row order at the end), so it allocates no [B, T, *] buffer.
/// </remarks>
internal static class RecurrenceLoops
{
    /// <summary>Runs the recurrence forward, filling <paramref name="buffers"/> (the weights cast, if at all, once here).</summary>
    public static void Forward(RecurrenceStrategy strategy, MatrixProducts products, RecurrenceBuffers buffers, DropoutMask mask)
    {
        RecurrenceInputs inputs = buffers.Inputs;
        int layers = buffers.Layers;
        long time = buffers.Time;
        Tensor wcT = products.Operand(inputs.ContextWeight).t();
        Tensor whT = products.Operand(inputs.HeadWeight).t();
        Tensor[] wT = Enumerable.Range(0, layers).Select(l => l == 0 ? null! : products.Operand(inputs.LayerWeight(l)).t()).ToArray();
        bool deeperAdd = strategy.ProductsAddToBuffers;

        RowParallel.For(buffers.Batch, (first, count) =>
        {
            using var rowsScope = NewDisposeScope();
            Tensor Rows(Tensor x) => x.narrow(0, first, count);
            Tensor[] hr = buffers.Hidden.Select(Rows).ToArray();
            Tensor gr = Rows(buffers.Gates), outr = Rows(buffers.Contexts);
            Tensor context = Rows(inputs.InitialContext);
            RecurrenceStrategy.ForwardRows rows = strategy.Forward(buffers, mask, first, count);
            for (long t = 0; t < time; t++)
            {
                using var scope = NewDisposeScope();
                rows.BeginPosition(t);
                for (int l = 0; l < layers; l++)
                {
                    // The first layer adds its context share to the table's rows.
                    Tensor ht = hr[l].select(1, t);
                    products.AddTo(ht, l == 0 ? context : hr[l - 1].select(1, t), l == 0 ? wcT : wT[l], accumulate: l == 0 || deeperAdd);
                    rows.ReluDropout(l, t, ht);
                }

                Tensor g = gr.select(1, t);
                products.AddTo(g, hr[layers - 1].select(1, t), whT, accumulate: deeperAdd);
                Tensor next = outr.select(1, t);
                rows.GatesAndNorm(t, g, context, next);
                context = next.MoveToOuterDisposeScope();
            }
        });
    }

    /// <summary>
    /// The backward through time from the outputs' gradients ([B, T, H] and [B, T, C], contiguous; null when none): the
    /// weight gradients (the table's too, unless it has a row per position or needs none), the table's gradient when it
    /// has a row per position, and the initial context's gradient.
    /// </summary>
    public static (ThreadGradients Weights, Tensor? TablePerPosition, Tensor InitialContext) Backward(
        RecurrenceStrategy strategy, MatrixProducts products, RecurrenceBuffers buffers, Tensor? dHidden, Tensor? dContexts, double dropout, bool tableGradient, bool tableRowPerPosition)
    {
        RecurrenceInputs inputs = buffers.Inputs;
        int layers = buffers.Layers;
        long time = buffers.Time, hidden = buffers.HiddenDim, c = buffers.ContextDim;
        float keep = dropout > 0 ? (float)(1 / (1 - dropout)) : 1f;
        var options = (dtype: buffers.Gates.dtype, device: buffers.Gates.device);
        Tensor headWeight = products.Operand(inputs.HeadWeight), contextWeight = products.Operand(inputs.ContextWeight);
        Tensor[] layerWeights = Enumerable.Range(0, layers).Select(l => l == 0 ? null! : products.Operand(inputs.LayerWeight(l))).ToArray();

        // One table row per position (the large-vocabulary case): each row's gradient is written once, by the
        // thread that owns its position, into one shared tensor. Otherwise each thread adds into its own.
        Tensor? sharedTableGrad = tableGradient && tableRowPerPosition ? zeros_like(inputs.Table) : null;
        Tensor dInitial = zeros_like(inputs.InitialContext);
        var parts = new SortedDictionary<long, ThreadGradients>();

        RowParallel.For(buffers.Batch, (first, count) =>
        {
            var sums = new ThreadGradients(layers, hidden, c, tableGradient && !tableRowPerPosition ? inputs.Table.shape[0] : 0, options.dtype, options.device);
            using var rowsScope = NewDisposeScope();
            Tensor Rows(Tensor x) => x.narrow(0, first, count);
            Tensor outr = Rows(buffers.Contexts), c0r = Rows(inputs.InitialContext), indexRows = Rows(inputs.Index);
            Tensor[] hr = buffers.Hidden.Select(Rows).ToArray();
            Tensor? dContextsRows = dContexts is null ? null : Rows(dContexts);
            RecurrenceStrategy.BackwardRows rows = strategy.Backward(buffers, dHidden, keep, sums, first, count);
            var block = new WeightGradientBlock(products, layers, count, hidden, c, time, buffers.Gates);
            Tensor dg = rows.DGates;
            Tensor[] da = rows.DLayers;
            for (long t = time - 1; t >= 0; t--)
            {
                using var scope = NewDisposeScope();
                if (dContextsRows is not null)
                {
                    rows.DContext.add_(dContextsRows.select(1, t), HeldScalars.One);
                }

                Tensor cin = t > 0 ? outr.select(1, t - 1) : c0r;
                rows.GatesAndNormBackward(t, cin);

                // The heads, then back through the FNN: each gradient goes into the block (cast there, once, for its
                // products), whose weight gradients are formed a block of positions at a time.
                Tensor above = block.Gates(dg);
                for (int l = layers - 1; l >= 0; l--)
                {
                    products.AddTo(da[l], above, l == layers - 1 ? headWeight : layerWeights[l + 1], accumulate: false);
                    rows.ReluDropoutBackward(l, t);
                    above = block.LayerGradient(l, da[l]);
                }

                (sums.Table ?? sharedTableGrad)?.index_add_(0, indexRows.select(1, t), da[0], HeldScalars.One);
                products.AddTo(rows.DContextBefore, above, contextWeight, accumulate: true);
                block.EndPosition(hr.Select(h => h.select(1, t)).ToArray(), cin);
                if (block.Full || t == 0)
                {
                    block.AddTo(sums);
                }

                rows.EndPosition();
            }

            Rows(dInitial).copy_(rows.DContext);
            rows.Finish();
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

        return (total, sharedTableGrad, dInitial);
    }
}
