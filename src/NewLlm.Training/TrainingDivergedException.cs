namespace NewLlm.Training;

/// <summary>The training loss or gradient became NaN or infinite; the message names the epoch and step.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message, int epoch, long step) : base(message)
    {
        Epoch = epoch;
        Step = step;
    }

    /// <summary>The 1-based epoch in which the loss diverged.</summary>
    public int Epoch { get; }

    /// <summary>The 1-based optimizer step that was being computed.</summary>
    public long Step { get; }
}
