namespace NewLlm.Training;

/// <summary>
/// Linear warmup from zero to the base learning rate over <see cref="WarmupSteps"/> steps, then a cosine decay
/// to <see cref="MinimumRatio"/> times the base rate at the last step.
/// </summary>
public sealed class WarmupCosineLearningRateSchedule : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="warmupSteps">Number of warmup steps (0 or more).</param>
    /// <param name="minimumRatio">The final learning rate as a share of the base rate, in [0, 1].</param>
    public WarmupCosineLearningRateSchedule(long warmupSteps, double minimumRatio = 0.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (!(minimumRatio >= 0 && minimumRatio <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(minimumRatio), minimumRatio, "The minimum ratio must be in [0, 1].");
        }

        WarmupSteps = warmupSteps;
        MinimumRatio = minimumRatio;
    }

    /// <summary>Number of warmup steps.</summary>
    public long WarmupSteps { get; }

    /// <summary>The final learning rate as a share of the base rate.</summary>
    public double MinimumRatio { get; }

    /// <inheritdoc />
    public double GetLearningRate(double baseLearningRate, long step, long totalSteps)
    {
        if (step < WarmupSteps)
        {
            return baseLearningRate * (step + 1) / WarmupSteps;
        }

        long decaySteps = Math.Max(1, totalSteps - WarmupSteps - 1);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0.0, 1.0);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return baseLearningRate * (MinimumRatio + (1 - MinimumRatio) * cosine);
    }

    /// <inheritdoc />
    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"warmup {WarmupSteps} steps + cosine to {MinimumRatio:0.###}x");
}
