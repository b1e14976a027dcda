namespace NewLlm.Training;

/// <summary>Factory methods for gradient clipping schedules.</summary>
public static class GradientClipSchedule
{
    /// <summary>The original schedule (0.5 / 1.0 / 2.0).</summary>
    public static IGradientClipSchedule Original => OriginalGradientClipSchedule.Instance;

    /// <summary>The same maximum norm in every epoch.</summary>
    /// <param name="maxNorm">The maximum norm; zero or less turns clipping off.</param>
    public static IGradientClipSchedule Constant(double maxNorm) =>
        new DelegateGradientClipSchedule(_ => maxNorm, maxNorm > 0 ? maxNorm.ToString(CultureInfo.InvariantCulture) : "off");

    /// <summary>No clipping.</summary>
    public static IGradientClipSchedule None => Constant(0);

    /// <summary>A schedule computed by a function of the 1-based epoch.</summary>
    /// <param name="maxNormForEpoch">Returns the maximum norm for an epoch (zero or less: no clipping).</param>
    /// <param name="description">Text for reports.</param>
    public static IGradientClipSchedule FromFunction(Func<int, double> maxNormForEpoch, string description = "custom") =>
        new DelegateGradientClipSchedule(maxNormForEpoch, description);
}
