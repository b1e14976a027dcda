namespace NewLlm.Training;

/// <summary>The requests pending in a <see cref="TrainerControl"/> at one moment (a snapshot <see cref="CallbackHarness"/> records after each event).</summary>
/// <param name="StopReason">Why a stop was requested, or null.</param>
/// <param name="IsEarlyStop">Whether the stop was an early stop.</param>
/// <param name="Validate">Whether a validation was requested for the current epoch.</param>
/// <param name="SaveBest">Whether the best checkpoint was requested.</param>
/// <param name="EpochCheckpoint">The epoch checkpoint requested, or null.</param>
/// <param name="SaveStep">Whether a step checkpoint was requested.</param>
/// <param name="SaveFinal">Whether the final checkpoint was requested.</param>
public sealed record ControlRequests(string? StopReason, bool IsEarlyStop, bool Validate, bool SaveBest, CheckpointKind? EpochCheckpoint, bool SaveStep, bool SaveFinal)
{
    /// <summary>Whether a stop was requested.</summary>
    public bool Stop => StopReason is not null;

    /// <summary>The requests pending in <paramref name="control"/> now.</summary>
    /// <param name="control">The control to read.</param>
    /// <returns>The snapshot.</returns>
    public static ControlRequests Of(TrainerControl control)
    {
        ArgumentNullException.ThrowIfNull(control);
        return new(control.StopReason, control.IsEarlyStop, control.ShouldValidate, control.ShouldSaveBest, control.EpochCheckpoint, control.ShouldSaveStep, control.ShouldSaveFinal);
    }
}
