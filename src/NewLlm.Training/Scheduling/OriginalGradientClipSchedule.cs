namespace NewLlm.Training;

/// <summary>The original New-LLM schedule: clip the gradient norm at 0.5 in epochs 1-10, 1.0 in epochs 11-30 and 2.0 after.</summary>
public sealed class OriginalGradientClipSchedule : IGradientClipSchedule
{
    /// <summary>The shared instance.</summary>
    public static OriginalGradientClipSchedule Instance { get; } = new();

    /// <inheritdoc />
    public double GetMaxNorm(int epoch) => epoch <= 10 ? 0.5 : epoch <= 30 ? 1.0 : 2.0;

    /// <inheritdoc />
    public string Describe() => "0.5 (epochs 1-10), 1.0 (11-30), 2.0 (31+)";
}
