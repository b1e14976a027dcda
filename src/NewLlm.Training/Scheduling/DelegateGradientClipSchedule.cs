namespace NewLlm.Training;

/// <summary>A gradient clipping schedule computed by a function of the 1-based epoch.</summary>
public sealed class DelegateGradientClipSchedule : IGradientClipSchedule
{
    private readonly Func<int, double> maxNormForEpoch;
    private readonly string description;

    /// <summary>Creates the schedule.</summary>
    /// <param name="maxNormForEpoch">Returns the maximum norm for a 1-based epoch (zero or less: no clipping).</param>
    /// <param name="description">Text for reports.</param>
    public DelegateGradientClipSchedule(Func<int, double> maxNormForEpoch, string description = "custom")
    {
        ArgumentNullException.ThrowIfNull(maxNormForEpoch);
        this.maxNormForEpoch = maxNormForEpoch;
        this.description = description ?? "custom";
    }

    /// <inheritdoc />
    public double GetMaxNorm(int epoch) => maxNormForEpoch(epoch);

    /// <inheritdoc />
    public string Describe() => description;
}
