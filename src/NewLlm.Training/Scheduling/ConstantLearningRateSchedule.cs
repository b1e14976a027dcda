namespace NewLlm.Training;

/// <summary>The original's schedule: the same learning rate for every step.</summary>
public sealed class ConstantLearningRateSchedule : ILearningRateSchedule
{
    /// <summary>The shared instance.</summary>
    public static ConstantLearningRateSchedule Instance { get; } = new();

    /// <inheritdoc />
    public double GetLearningRate(double baseLearningRate, long step, long totalSteps) => baseLearningRate;

    /// <inheritdoc />
    public string Describe() => "constant";
}
