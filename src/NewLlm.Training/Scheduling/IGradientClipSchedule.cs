namespace NewLlm.Training;

/// <summary>Gives the maximum gradient norm for an epoch; a value of zero or less (or infinity) turns clipping off.</summary>
public interface IGradientClipSchedule
{
    /// <summary>The maximum global L2 norm of the gradients in the given 1-based epoch.</summary>
    /// <param name="epoch">The 1-based epoch.</param>
    double GetMaxNorm(int epoch);

    /// <summary>A short human-readable description for reports, e.g. "0.5 (epochs 1-10), 1.0 (11-30), 2.0 (31+)".</summary>
    string Describe();
}
