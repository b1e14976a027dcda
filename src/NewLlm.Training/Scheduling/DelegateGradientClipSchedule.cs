namespace NewLlm.Training;

/// <summary>A gradient clipping schedule computed by a function of the 1-based epoch.</summary>
public sealed class DelegateGradientClipSchedule : IGradientClipSchedule
{
    private readonly Func<int, double> _maxNormForEpoch;
    private readonly string _description;

    /// <summary>Creates the schedule.</summary>
    /// <param name="maxNormForEpoch">Returns the maximum norm for a 1-based epoch (zero or less: no clipping).</param>
    /// <param name="description">Text for reports.</param>
    public DelegateGradientClipSchedule(Func<int, double> maxNormForEpoch, string description = "custom")
    {
        ArgumentNullException.ThrowIfNull(maxNormForEpoch);
        _maxNormForEpoch = maxNormForEpoch;
        _description = description ?? "custom";
    }

    /// <inheritdoc />
    public double GetMaxNorm(int epoch) => _maxNormForEpoch(epoch);

    /// <inheritdoc />
    public string Describe() => _description;
}
