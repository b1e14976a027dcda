namespace NewLlm.Training;

/// <summary>
/// One parameter's Adam (or AdamW) update, operation for operation TorchSharp's <c>Adam.step</c> and
/// <c>AdamW.step</c> (so parameters, moments and checkpoints are bit-identical to theirs), without their
/// parameter-sized temporaries.
/// </summary>
/// <remarks>
/// TorchSharp's step runs every parameter's update in one dispose scope, so each parameter's <c>sqrt(exp_avg_sq)</c>
/// and its scaled copy live until the last parameter is done: about 0.3 GB on top of the model and its moments at the
/// GPT-2 vocabulary (two copies of the [50,257, 512] output weight and of the [50,257, 256] embedding), which made the
/// step's peak. Here each parameter's update has its own scope, and the denominator is formed a slice at a time in one
/// small scratch buffer kept between steps.
/// </remarks>
internal sealed class AdamUpdate : IDisposable
{
    /// <summary>Elements per slice of the update (4 MB of float32: large for the kernels, small next to the largest parameters).</summary>
    internal const long SliceElements = 1L << 20;

    private Tensor? _denominator;

    /// <summary>Updates every parameter of <paramref name="group"/> that has a gradient, with the group's settings.</summary>
    public void Apply(ParamGroup group, Func<Parameter, OptimizerState> stateOf, bool decoupledWeightDecay)
    {
        AdamSettings settings = AdamSettings.Of(group.Options);
        foreach (Parameter parameter in group.Parameters)
        {
            Apply(parameter, AdamMoments.Of(stateOf(parameter), decoupledWeightDecay ? "AdamW" : "Adam"), settings, decoupledWeightDecay);
        }
    }

    /// <summary>
    /// Updates <paramref name="parameter"/> and its moments in place; nothing when it has no gradient. With
    /// <paramref name="decoupledWeightDecay"/> (AdamW) the parameter shrinks by <c>lr * weight_decay</c>; without (Adam)
    /// <c>weight_decay * parameter</c> is added to the gradient.
    /// </summary>
    public void Apply(Parameter parameter, AdamMoments state, AdamSettings settings, bool decoupledWeightDecay)
    {
        using DisposeScope scope = NewDisposeScope();
        if (parameter.grad is not Tensor grad)
        {
            return;
        }

        if (settings.Maximize)
        {
            grad = grad.neg();
        }

        state.Step += 1;
        double biasCorrection1 = 1 - Math.Pow(settings.Beta1, state.Step);
        double biasCorrection2 = 1 - Math.Pow(settings.Beta2, state.Step);
        if (decoupledWeightDecay)
        {
            using Scalar shrink = (1 - (settings.LearningRate * settings.WeightDecay)).ToScalar();
            parameter.mul_(shrink);
        }
        else if (settings.WeightDecay != 0)
        {
            using Scalar decay = settings.WeightDecay.ToScalar();
            grad = grad.add(parameter, alpha: decay);
        }

        // Every scalar held while libtorch reads it (see HeldScalars in NewLlm.Core: an implicit one can be freed mid-call).
        using Scalar beta1 = settings.Beta1.ToScalar(), rest1 = (1 - settings.Beta1).ToScalar(), beta2 = settings.Beta2.ToScalar(), rest2 = (1 - settings.Beta2).ToScalar();
        state.ExpAvg.mul_(beta1).add_(grad, alpha: rest1);
        state.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, value: rest2);
        Tensor second = state.ExpAvgSq;
        if (settings.AmsGrad)
        {
            Tensor max = state.MaxExpAvgSq ??= zeros_like(state.ExpAvgSq).DetachFromDisposeScope();
            max.copy_(maximum(max, state.ExpAvgSq));
            second = max;
        }

        using Scalar stepSize = (-(settings.LearningRate / biasCorrection1)).ToScalar(), rootCorrection2 = Math.Sqrt(biasCorrection2).ToScalar(), epsilon = settings.Epsilon.ToScalar();
        if (!parameter.is_contiguous() || !state.ExpAvg.is_contiguous() || !second.is_contiguous())
        {
            Tensor denominator = second.sqrt().div_(rootCorrection2).add_(epsilon);   // TorchSharp's own form
            parameter.addcdiv_(state.ExpAvg, denominator, value: stepSize);
            return;
        }

        // The denominator and the update a slice at a time, through a scratch buffer kept between steps: element-wise,
        // so the same values as over the whole parameter, without a temporary as large as it.
        Tensor values = parameter.view(-1), first = state.ExpAvg.view(-1), squares = second.view(-1);
        long count = values.numel();
        for (long start = 0; start < count; start += SliceElements)
        {
            long length = Math.Min(SliceElements, count - start);
            Tensor denominator = Scratch(squares, length).copy_(squares.narrow(0, start, length)).sqrt_().div_(rootCorrection2).add_(epsilon);
            values.narrow(0, start, length).addcdiv_(first.narrow(0, start, length), denominator, value: stepSize);
        }
    }

    public void Dispose()
    {
        _denominator?.Dispose();
        _denominator = null;
    }

    /// <summary>The first <paramref name="length"/> elements of the scratch buffer, (re)made with <paramref name="like"/>'s dtype and device.</summary>
    private Tensor Scratch(Tensor like, long length)
    {
        if (_denominator is not { } buffer || buffer.dtype != like.dtype || buffer.device_type != like.device_type || buffer.device_index != like.device_index)
        {
            _denominator?.Dispose();
            _denominator = buffer = empty(SliceElements, dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        }

        return buffer.narrow(0, 0, length);
    }
}
