using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

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
/// step's peak. Here each parameter's update has its own scope and the denominator is formed in place in one scratch
/// buffer kept between steps, as large as the largest parameter.
/// </remarks>
internal sealed class AdamUpdate : IDisposable
{
    private Tensor? _denominator;

    /// <summary>Updates <paramref name="parameter"/> and its moments in place; nothing when it has no gradient.</summary>
    /// <param name="parameter">The parameter.</param>
    /// <param name="state">Its step count and moments.</param>
    /// <param name="settings">The parameter group's settings.</param>
    /// <param name="decoupledWeightDecay">AdamW (the parameter shrinks by <c>lr * weight_decay</c>) rather than Adam (<c>weight_decay * parameter</c> is added to the gradient).</param>
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
            parameter.mul_(1 - (settings.LearningRate * settings.WeightDecay));
        }
        else if (settings.WeightDecay != 0)
        {
            grad = grad.add(parameter, alpha: settings.WeightDecay);
        }

        state.ExpAvg.mul_(settings.Beta1).add_(grad, alpha: 1 - settings.Beta1);
        state.ExpAvgSq.mul_(settings.Beta2).addcmul_(grad, grad, value: 1 - settings.Beta2);
        Tensor second = state.ExpAvgSq;
        if (settings.AmsGrad)
        {
            Tensor max = state.MaxExpAvgSq ??= zeros_like(state.ExpAvgSq).DetachFromDisposeScope();
            max.copy_(maximum(max, state.ExpAvgSq));
            second = max;
        }

        Tensor denominator = Scratch(second).copy_(second).sqrt_().div_(Math.Sqrt(biasCorrection2)).add_(settings.Epsilon);
        parameter.addcdiv_(state.ExpAvg, denominator, value: -(settings.LearningRate / biasCorrection1));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _denominator?.Dispose();
        _denominator = null;
    }

    /// <summary>A view of the scratch buffer shaped like <paramref name="like"/>, grown (and kept) when too small.</summary>
    private Tensor Scratch(Tensor like)
    {
        if (_denominator is null || _denominator.numel() < like.numel() || _denominator.dtype != like.dtype || _denominator.device != like.device)
        {
            long size = Math.Max(like.numel(), _denominator is { } old && old.dtype == like.dtype && old.device == like.device ? old.numel() : 0);
            _denominator?.Dispose();
            _denominator = empty(size, dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        }

        return _denominator.narrow(0, 0, like.numel()).view(like.shape);
    }
}
