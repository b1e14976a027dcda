namespace NewLlm.Training;

/// <summary>
/// Requests from callbacks to the trainer, which acts on them at fixed points: a <see cref="CheckpointKind.Step"/>
/// checkpoint after the current optimizer step; a <see cref="CheckpointKind.Best"/> one after <see cref="ITrainerCallback.OnEvaluationEnd"/>;
/// a validation at the end of the epoch's training pass; an epoch checkpoint and a stop after <see cref="ITrainerCallback.OnEpochEnd"/>;
/// a <see cref="CheckpointKind.Final"/> one when training ends (not when cancelled). Each is cleared once acted on, except the stop.
/// </summary>
public sealed class TrainerControl
{
    /// <summary>Whether a stop was requested.</summary>
    public bool ShouldStop => StopReason is not null;

    /// <summary>Why the stop was requested, or null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Whether the stop was requested by early stopping (the run ends as <see cref="TrainingOutcome.StoppedEarly"/>).</summary>
    public bool IsEarlyStop { get; private set; }

    /// <summary>Whether the current epoch will be validated even if <see cref="TrainerOptions.ValidateEveryEpochs"/> skips it.</summary>
    public bool ShouldValidate { get; private set; }

    /// <summary>Whether <c>best_{name}.pt</c> will be written after the current validation.</summary>
    public bool ShouldSaveBest { get; private set; }

    /// <summary>The kind of <c>{name}_epoch_{n}.pt</c> to write after the current epoch (<see cref="CheckpointKind.Periodic"/> or <see cref="CheckpointKind.Requested"/>), or null.</summary>
    public CheckpointKind? EpochCheckpoint { get; private set; }

    /// <summary>Whether <c>{name}_step_{n}.pt</c> will be written after the current optimizer step.</summary>
    public bool ShouldSaveStep { get; private set; }

    /// <summary>Whether <c>{name}_final.pt</c> will be written when training ends.</summary>
    public bool ShouldSaveFinal { get; private set; }

    /// <summary>Asks the trainer to stop after the current epoch (training ends cleanly, with the final checkpoint when one is requested).</summary>
    /// <param name="reason">Why, for reports.</param>
    public void RequestStop(string reason) => Stop(reason, earlyStop: false);

    /// <summary>Like <see cref="RequestStop"/>, and the run ends as <see cref="TrainingOutcome.StoppedEarly"/> (what <see cref="EarlyStopping"/> calls).</summary>
    /// <param name="reason">Why, for reports.</param>
    public void RequestEarlyStop(string reason) => Stop(reason, earlyStop: true);

    /// <summary>Asks for a validation at the end of the current epoch's training pass.</summary>
    public void RequestValidation() => ShouldValidate = true;

    /// <summary>Asks for a checkpoint: <see cref="CheckpointKind.Requested"/> (the default) or <see cref="CheckpointKind.Periodic"/> for <c>{name}_epoch_{n}.pt</c> after the epoch, <see cref="CheckpointKind.Best"/> after the validation, <see cref="CheckpointKind.Step"/> for <c>{name}_step_{n}.pt</c> after the current optimizer step, <see cref="CheckpointKind.Final"/> when training ends.</summary>
    /// <param name="kind">Which checkpoint.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="CheckpointKind.Interrupted"/>: the trainer writes it itself on cancellation.</exception>
    public void RequestCheckpoint(CheckpointKind kind = CheckpointKind.Requested)
    {
        switch (kind)
        {
            case CheckpointKind.Best:
                ShouldSaveBest = true;
                break;
            case CheckpointKind.Final:
                ShouldSaveFinal = true;
                break;
            case CheckpointKind.Periodic:
                EpochCheckpoint = CheckpointKind.Periodic;
                break;
            case CheckpointKind.Step:
                ShouldSaveStep = true;
                break;
            case CheckpointKind.Requested:
                EpochCheckpoint ??= CheckpointKind.Requested;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "The interrupt checkpoint cannot be requested: the trainer writes it when training is cancelled.");
        }
    }

    internal void ClearValidation() => ShouldValidate = false;

    internal void ClearBest() => ShouldSaveBest = false;

    internal void ClearEpochCheckpoint() => EpochCheckpoint = null;

    internal void ClearStepCheckpoint() => ShouldSaveStep = false;

    /// <summary>Forgets every request, for a new call of <see cref="Trainer.Train"/>.</summary>
    internal void Reset()
    {
        StopReason = null;
        IsEarlyStop = false;
        ShouldValidate = false;
        ShouldSaveBest = false;
        EpochCheckpoint = null;
        ShouldSaveStep = false;
        ShouldSaveFinal = false;
    }

    private void Stop(string reason, bool earlyStop)
    {
        if (StopReason is null)
        {
            StopReason = string.IsNullOrWhiteSpace(reason) ? "stop requested by a callback" : reason;
            IsEarlyStop = earlyStop;
        }
    }
}
