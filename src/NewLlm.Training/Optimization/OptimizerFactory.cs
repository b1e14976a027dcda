using TorchSharp.Modules;

namespace NewLlm.Training;

/// <summary>The optimizer the options ask for, over a model's parameters (the trainer's, and the scratch one a checkpoint is staged into).</summary>
internal static class OptimizerFactory
{
    public static OptimizerHelper Create(NewLlmModel model, TrainerOptions o) => o.Optimizer switch
    {
        OptimizerKind.AdamW => new InPlaceAdamW(model.parameters(), o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay),
        _ => new InPlaceAdam(model.parameters(), o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay),
    };
}
