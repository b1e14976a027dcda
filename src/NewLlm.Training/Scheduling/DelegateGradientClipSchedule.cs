namespace NewLlm.Training;

/// <summary>A gradient clipping schedule computed by a function of the 1-based epoch.</summary>
/// <param name="maxNormForEpoch">Returns the maximum norm for a 1-based epoch (zero or less: no clipping).</param>
/// <param name="description">Text for reports.</param>
public sealed class DelegateGradientClipSchedule(Func<int, double> maxNormForEpoch, string description = "custom") : IGradientClipSchedule
{
    private readonly Func<int, double> _maxNormForEpoch = maxNormForEpoch ?? throw new ArgumentNullException(nameof(maxNormForEpoch));
    private readonly string _description = description ?? "custom";

    /// <inheritdoc />
    public double GetMaxNorm(int epoch) => _maxNormForEpoch(epoch);

    /// <inheritdoc />
    public string Describe() => _description;
}
