
namespace NewLlm.Training;

/// <summary>The result of <see cref="Trainer.TrainAsync"/>.</summary>
/// <param name="Outcome">How the run ended.</param>
/// <param name="EpochsCompleted">Number of completed epochs since the start of the run (resumed epochs included).</param>
/// <param name="GlobalStep">Optimizer steps taken since the start of the run.</param>
/// <param name="History">One record per completed epoch.</param>
/// <param name="BestValidationLoss">The best validation loss, or null when never validated.</param>
/// <param name="BestCheckpointPath">Path of <c>best_{name}.pt</c>, when written.</param>
/// <param name="LastCheckpointPath">Path of the last checkpoint written (the final or interrupt checkpoint), when any.</param>
/// <param name="Message">A human-readable reason (e.g. why it stopped).</param>
public sealed record TrainingResult(
    TrainingOutcome Outcome,
    int EpochsCompleted,
    long GlobalStep,
    IReadOnlyList<EpochRecord> History,
    double? BestValidationLoss,
    string? BestCheckpointPath,
    string? LastCheckpointPath,
    string Message);
