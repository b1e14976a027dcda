using NewLlm.Training.Checkpoints;
using NewLlm.Training.Metrics;

namespace NewLlm.Training.Callbacks;

/// <summary>
/// Receives the events of a training run, in this order: <see cref="OnTrainBegin"/>; per epoch <see cref="OnEpochBegin"/>,
/// <see cref="OnBatchEnd"/> for each batch, <see cref="OnEvaluationEnd"/> (when validated), <see cref="OnCheckpointSaved"/>
/// for the best checkpoint, <see cref="OnEpochEnd"/>, <see cref="OnCheckpointSaved"/> for a periodic checkpoint;
/// then <see cref="OnCheckpointSaved"/> for the final checkpoint and <see cref="OnTrainEnd"/>; <see cref="OnException"/>
/// when the run fails. Every method has an empty default, so a callback implements only what it needs.
/// Through <see cref="TrainerContext"/> a callback reads the trainer's state and can stop training or ask for a checkpoint.
/// A callback that also implements <see cref="ICheckpointStateful"/> keeps its state in checkpoints.
/// </summary>
public interface ITrainerCallback
{
    /// <summary>Training starts (after a resume, too).</summary>
    void OnTrainBegin(TrainerContext context) { }

    /// <summary>An epoch starts (<see cref="TrainerContext.Epoch"/> is its 1-based number).</summary>
    void OnEpochBegin(TrainerContext context) { }

    /// <summary>A training batch was processed.</summary>
    void OnBatchEnd(TrainerContext context, BatchResult batch) { }

    /// <summary>Validation finished.</summary>
    void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) { }

    /// <summary>An epoch finished; the record is already in <see cref="TrainerContext.History"/>.</summary>
    void OnEpochEnd(TrainerContext context, EpochRecord record) { }

    /// <summary>A checkpoint was written.</summary>
    void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint) { }

    /// <summary>Training ended (completed, stopped early, stopped by request, or cancelled).</summary>
    void OnTrainEnd(TrainerContext context, TrainingResult result) { }

    /// <summary>Training failed; the exception is rethrown after all callbacks have seen it.</summary>
    void OnException(TrainerContext context, Exception exception) { }
}
