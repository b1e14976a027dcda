namespace NewLlm.Training;

/// <summary>Gives the learning rate of each optimizer step.</summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for an optimizer step.</summary>
    /// <param name="baseLearningRate">The configured (peak) learning rate.</param>
    /// <param name="step">The 0-based index of the optimizer step about to be taken.</param>
    /// <param name="totalSteps">The number of optimizer steps the run will take in all.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Visual Basic's Step; the name is PyTorch's (an optimizer step), and renaming a parameter of a public interface breaks named arguments.")]
    double GetLearningRate(double baseLearningRate, long step, long totalSteps);

    /// <summary>A short human-readable description for reports.</summary>
    string Describe();
}
