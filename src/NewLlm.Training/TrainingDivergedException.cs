namespace NewLlm.Training;

/// <summary>The training loss or gradient became NaN or infinite; the message names the epoch and step.</summary>
/// <param name="message">The message.</param>
/// <param name="epoch">The 1-based epoch in which the loss diverged.</param>
/// <param name="step">The 1-based optimizer step that was being computed.</param>
public sealed class TrainingDivergedException(string message, int epoch, long step) : Exception(message)
{
    /// <summary>The 1-based epoch in which the loss diverged.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>The 1-based optimizer step that was being computed.</summary>
    public long Step { get; } = step;

    /// <summary>The error for a loss or gradient norm that is <paramref name="what"/>, in the step after the state's, at batch <paramref name="batchIndex"/> (0-based) of the epoch.</summary>
    internal static TrainingDivergedException During(TrainerState state, int epoch, string what, int batchIndex)
    {
        long step = state.GlobalStep + 1;
        string last = state.LastCheckpointPath is null ? "no checkpoint had been written yet" : $"the last good checkpoint, {state.LastCheckpointPath}, is intact";
        return new TrainingDivergedException(
            $"Training diverged in epoch {epoch}, step {step} (batch {batchIndex + 1} of {state.BatchesPerEpoch}): {what}. Nothing was saved for this epoch; {last}. Try a lower learning rate or stronger gradient clipping.",
            epoch,
            step);
    }
}
