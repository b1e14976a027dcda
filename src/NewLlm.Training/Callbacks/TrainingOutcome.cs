namespace NewLlm.Training;

/// <summary>How a training run ended.</summary>
public enum TrainingOutcome
{
    /// <summary>All epochs were trained.</summary>
    Completed,

    /// <summary>Early stopping ended the run.</summary>
    StoppedEarly,

    /// <summary>A callback asked to stop.</summary>
    StopRequested,

    /// <summary>The step limit was reached.</summary>
    StepLimitReached,

    /// <summary>The cancellation token fired; a resumable checkpoint was written when an output directory is set.</summary>
    Cancelled,

    /// <summary>
    /// No epoch was left to train: the run (for example the checkpoint it resumed from) already had
    /// <see cref="TrainerOptions.Epochs"/> epochs or more. Nothing was trained and no file was written.
    /// </summary>
    NothingToTrain,
}
