namespace NewLlm.Training;

/// <summary>The optimizer the trainer uses (<see cref="TrainerOptions.Optimizer"/>), for programs that take their own steps with it, such as benchmarks.</summary>
public static class OptimizerFactory
{
    /// <summary>Adam or AdamW over the model's parameters, with the options' learning rate, betas, epsilon and weight decay.</summary>
    /// <param name="model">The model whose parameters it updates.</param>
    /// <param name="options">The options (<see cref="TrainerOptions.Optimizer"/> and its hyper-parameters).</param>
    public static OptimizerHelper Create(LanguageModel model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        return options.Optimizer switch
        {
            OptimizerKind.AdamW => new InPlaceAdamW(model.parameters(), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay),
            _ => new InPlaceAdam(model.parameters(), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay),
        };
    }
}
