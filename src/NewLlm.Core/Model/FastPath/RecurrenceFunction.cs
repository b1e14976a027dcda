namespace NewLlm;

/// <summary>
/// The recurrent part of <see cref="NewLlmModel"/> as one autograd node with a hand-written backward through time:
/// the glue between libtorch's autograd and <see cref="RecurrenceLoops"/>.
/// </summary>
/// <remarks>
/// Inputs: the settings, then the tensors of <see cref="RecurrenceInputs"/> in its positional order. Outputs: the
/// last layer's hidden states [B, T, H] (after dropout) and the context after every position [B, T, C]. Saved:
/// <see cref="RecurrenceBuffers"/> (only the hidden states, the gates and the contexts besides the inputs).
/// </remarks>
internal sealed class RecurrenceFunction : autograd.MultiTensorFunction<RecurrenceFunction>
{
    private const string SettingsKey = "settings";

    public override string Name => "NewLlmRecurrence";

    /// <summary>
    /// Runs the recurrence, recording one node in the autograd graph when gradients are needed; <paramref name="lease"/>
    /// (fresh buffers when null) is released when the backward has run.
    /// </summary>
    public static (Tensor Hidden, Tensor Contexts) Apply(double dropout, bool tableRowPerPosition, RecurrenceInputs inputs, WorkspaceLease? lease = null, ScalarType? computeDType = null)
    {
        long[][] shapes = inputs.Tensors().Select(t => t.shape).ToArray();
        var settings = new Settings(
            dropout, inputs.Layers, inputs.InitialContext.requires_grad, inputs.Table.requires_grad, tableRowPerPosition, lease, shapes, inputs.Table.dtype, inputs.Table.device, computeDType);
        List<Tensor> outputs = apply(inputs.Tensors().Prepend<object>(settings).ToArray());
        return (outputs[0], outputs[1]);
    }

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var settings = (Settings)vars[0];
        RecurrenceInputs given = RecurrenceInputs.Read(vars, 1, settings.Layers);
        RecurrenceStrategy strategy = RecurrenceStrategy.For(given.Table);
        RecurrenceBuffers buffers = RecurrenceBuffers.Allocate(strategy.Prepare(given), settings.Lease);

        // Dropout masks: drawn by each row thread for its own rows, position by position (see DropoutMask).
        DropoutMask mask = DropoutMask.Draw(settings.Dropout, settings.Layers, buffers.Batch, buffers.HiddenDim);
        RecurrenceLoops.Forward(strategy, MatrixProducts.For(settings.ComputeDType, settings.DType), buffers, mask);

        ctx.save_for_backward(buffers.ToSaved());
        ctx.save_data(SettingsKey, settings);

        // Unused outputs get no gradient (null) rather than zeros: TorchSharp materialises zeros from a cache of
        // the outputs that a dispose scope around the forward may already have freed.
        ctx.set_materialize_grads(false);

        // Views, so that the outputs are distinct from the saved buffers.
        Tensor last = buffers.Hidden[^1];
        return [last.view(last.shape), buffers.Contexts.view(buffers.Contexts.shape)];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        // Nothing may be thrown here: an exception cannot cross libtorch's autograd engine.
        var settings = (Settings)ctx.get_data(SettingsKey);
        if (settings.Lease is { IsCurrent: false })
        {
            // A later loss has overwritten the workspace this graph saved (see TrainingWorkspace): NaN, not wrong values.
            return settings.InputShapes.Select((shape, k) => k == 0 ? null! : full(shape, HeldScalars.NaN, dtype: settings.DType, device: settings.Device)).Prepend(null!).ToList();
        }

        List<Tensor> result;
        using (var outer = NewDisposeScope())
        {
            RecurrenceBuffers buffers = RecurrenceBuffers.FromSaved(ctx.get_saved_variables(), settings.Layers);
            Tensor? dHidden = grad_outputs[0] is { IsInvalid: false } gh ? gh.contiguous() : null;
            Tensor? dContexts = grad_outputs[1] is { IsInvalid: false } gc ? gc.contiguous() : null;
            (ThreadGradients total, Tensor? tablePerPosition, Tensor dInitial) = RecurrenceLoops.Backward(
                RecurrenceStrategy.For(buffers.Gates), MatrixProducts.For(settings.ComputeDType, settings.DType), buffers, dHidden, dContexts, settings.Dropout, settings.TableNeedsGrad, settings.TableRowPerPosition);

            // None for the index; the table's and the initial context's only where they need one.
            var gradients = new RecurrenceInputs(
                null!, tablePerPosition ?? total.Table!, settings.InitialContextNeedsGrad ? dInitial : null!, total.ContextWeight, total.HeadWeight, total.HeadBias, total.NormWeight, total.NormBias,
                Enumerable.Range(1, settings.Layers - 1).Select(l => (total.LayerWeights[l], total.LayerBiases[l])).ToArray());
            result = gradients.Tensors().Prepend(null!).ToList();   // settings first, as in the inputs
            foreach (Tensor? g in result)
            {
                g?.MoveToOuterDisposeScope();
            }
        }

        settings.Lease?.Release();
        return result;
    }

    /// <summary>What the function needs besides tensors; the input shapes (in positional order), dtype and device for NaN gradients.</summary>
    private sealed record Settings(
        double Dropout,
        int Layers,
        bool InitialContextNeedsGrad,
        bool TableNeedsGrad,
        bool TableRowPerPosition,
        WorkspaceLease? Lease,
        long[][] InputShapes,
        ScalarType DType,
        Device Device,
        ScalarType? ComputeDType);
}
