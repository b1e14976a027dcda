
namespace NewLlm.Training;

/// <summary>
/// Receives the events of a training run, in this order: <see cref="OnTrainBegin"/>; per epoch <see cref="OnEpochBegin"/>,
/// per optimizer step <see cref="OnAfterBackward"/>, then <see cref="OnBatchEnd"/> for each batch of the step, <see cref="OnEvaluationEnd"/> (when validated), <see cref="OnCheckpointSaved"/>
/// for the best checkpoint, <see cref="OnEpochEnd"/>, <see cref="OnCheckpointSaved"/> for an epoch checkpoint;
/// then <see cref="OnCheckpointSaved"/> for the final checkpoint and <see cref="OnTrainEnd"/>; <see cref="OnException"/>
/// when the run fails. Every method has an empty default, so a callback implements only what it needs.
/// Through <see cref="TrainerContext"/> a callback reads the run's <see cref="TrainerState"/> and makes requests through
/// its <see cref="TrainerControl"/> (stop, validate, checkpoint), which the trainer acts on after the event.
/// A callback that also implements <see cref="ICheckpointStateful"/> keeps its state in checkpoints.
/// </summary>
public interface ITrainerCallback
{
    /// <summary>Training starts (after a resume, too).</summary>
    void OnTrainBegin(TrainerContext context) { }

    /// <summary>An epoch starts (<see cref="TrainerState.Epoch"/> is its 1-based number).</summary>
    void OnEpochBegin(TrainerContext context) { }

    /// <summary>
    /// The gradients of an optimizer step are computed (summed over its accumulated batches) and not yet clipped or
    /// applied: the place to change them, through the parameters' <c>grad</c> of <see cref="TrainerContext.Model"/>
    /// (for example zero some, as <see cref="FreezeBaseContextDimensions"/> does). Lightning's <c>on_after_backward</c>.
    /// </summary>
    void OnAfterBackward(TrainerContext context) { }

    /// <summary>A training batch was processed.</summary>
    void OnBatchEnd(TrainerContext context, BatchResult batch) { }

    /// <summary>Validation finished; the epoch's record is already in <see cref="TrainerState.History"/>. A best checkpoint requested here is written right after.</summary>
    void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) { }

    /// <summary>An epoch finished; the record is in <see cref="TrainerState.History"/>. Epoch checkpoints and stops requested here are acted on right after.</summary>
    void OnEpochEnd(TrainerContext context, EpochRecord record) { }

    /// <summary>A checkpoint was written.</summary>
    void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint) { }

    /// <summary>Training ended (completed, stopped early, stopped by request, or cancelled).</summary>
    void OnTrainEnd(TrainerContext context, TrainingResult result) { }

    /// <summary>Training failed; the exception is rethrown after all callbacks have seen it.</summary>
    void OnException(TrainerContext context, Exception exception) { }
}
