namespace NewLlm.Training;

/// <summary>A parameter group's Adam or AdamW hyper-parameters, read from and written to TorchSharp's two options classes.</summary>
internal readonly record struct AdamSettings(double LearningRate, double Beta1, double Beta2, double Epsilon, double WeightDecay, bool AmsGrad, bool Maximize)
{
    /// <summary>The settings of a group's options (<c>Adam.Options</c> or <c>AdamW.Options</c>).</summary>
    public static AdamSettings Of(OptimizerOptions options) => options switch
    {
        Adam.Options a => new(a.LearningRate!.Value, a.beta1!.Value, a.beta2!.Value, a.eps!.Value, a.weight_decay!.Value, a.amsgrad!.Value, a.maximize!.Value),
        AdamW.Options a => new(a.LearningRate!.Value, a.beta1!.Value, a.beta2!.Value, a.eps!.Value, a.weight_decay!.Value, a.amsgrad!.Value, a.maximize!.Value),
        _ => throw new InvalidOperationException($"Only Adam's and AdamW's hyper-parameters can be read, not {options.GetType().FullName}'s."),
    };

    /// <summary>Sets a group's options (<c>Adam.Options</c> or <c>AdamW.Options</c>; the caller has checked which) to these settings.</summary>
    public void ApplyTo(OptimizerOptions target)
    {
        target.LearningRate = LearningRate;
        switch (target)
        {
            case Adam.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad, a.maximize) = (Beta1, Beta2, Epsilon, WeightDecay, AmsGrad, Maximize);
                break;
            case AdamW.Options a:
                (a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad, a.maximize) = (Beta1, Beta2, Epsilon, WeightDecay, AmsGrad, Maximize);
                break;
        }
    }
}
