namespace NewLlm.Training;

/// <summary>Adam's and AdamW's per-parameter state (step count and moments), which TorchSharp keeps in two classes with the same fields.</summary>
internal sealed class AdamMoments
{
    private readonly OptimizerState _state;

    private AdamMoments(OptimizerState state) => _state = state;

    public long Step
    {
        get => _state switch { Adam.State a => a.step, AdamW.State a => a.step, _ => 0 };
        set
        {
            if (_state is Adam.State a)
            {
                a.step = value;
            }
            else
            {
                ((AdamW.State)_state).step = value;
            }
        }
    }

    public Tensor ExpAvg => _state switch { Adam.State a => a.exp_avg, AdamW.State a => a.exp_avg, _ => throw new InvalidOperationException() };

    public Tensor ExpAvgSq => _state switch { Adam.State a => a.exp_avg_sq, AdamW.State a => a.exp_avg_sq, _ => throw new InvalidOperationException() };

    /// <summary>The running maximum of the second moment (AMSGrad only).</summary>
    public Tensor? MaxExpAvgSq
    {
        get => _state switch { Adam.State a => a.max_exp_avg_sq, AdamW.State a => a.max_exp_avg_sq, _ => null };
        set
        {
            if (_state is Adam.State a)
            {
                a.max_exp_avg_sq = value;
            }
            else
            {
                ((AdamW.State)_state).max_exp_avg_sq = value;
            }
        }
    }

    /// <summary>The view of <paramref name="state"/>; <paramref name="where"/> names it when it is not Adam's or AdamW's.</summary>
    public static AdamMoments Of(OptimizerState state, string where) =>
        state is Adam.State or AdamW.State
            ? new AdamMoments(state)
            : throw new InvalidDataException($"{where}: only Adam's and AdamW's state can be kept in PyTorch's layout, not {state.GetType().FullName}.");

    /// <summary>Copies the values in; a missing AMSGrad maximum is created, an extra one dropped.</summary>
    public void Set(long step, Tensor expAvg, Tensor expAvgSq, Tensor? max)
    {
        ExpAvg.copy_(expAvg);
        ExpAvgSq.copy_(expAvgSq);
        MaxExpAvgSq = max is null ? null : (MaxExpAvgSq ?? zeros_like(ExpAvgSq).DetachFromDisposeScope()).copy_(max);
        Step = step;
    }
}
