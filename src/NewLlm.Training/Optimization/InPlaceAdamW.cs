namespace NewLlm.Training;

/// <summary>TorchSharp's <c>AdamW</c> (same state, options and checkpoints) whose step updates in place (<see cref="AdamUpdate"/>).</summary>
internal sealed class InPlaceAdamW(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsGrad = false)
    : AdamW(parameters, lr, beta1, beta2, eps, weightDecay, amsGrad)
{
    private readonly AdamUpdate _update = new();

    public override Tensor step(Func<Tensor>? closure = null) =>
        _step<TorchSharp.Modules.ParamGroup>(group => _update.Apply(group, parameter => _state[parameter.Handle], decoupledWeightDecay: true), closure);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _update.Dispose();
    }
}
