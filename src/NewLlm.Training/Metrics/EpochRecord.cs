namespace NewLlm.Training;

/// <summary>What one epoch produced; the trainer's history is a list of these.</summary>
/// <param name="Epoch">The 1-based epoch.</param>
/// <param name="GlobalStep">Optimizer steps taken since the start of the run, at the end of the epoch.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
/// <param name="TrainLoss">Token-weighted mean training loss of the epoch (with dropout), in nats.</param>
/// <param name="Validation">Validation metrics, or null when the epoch was not validated.</param>
/// <param name="IsBest">Whether the validation loss was lower than every earlier one (the epoch of <c>best_{name}.pt</c>).</param>
/// <param name="TrainSeconds">Wall time of the training pass.</param>
/// <param name="EpochSeconds">Wall time of training plus validation.</param>
public sealed record EpochRecord(int Epoch, long GlobalStep, double LearningRate, double TrainLoss, EvaluationMetrics? Validation, bool IsBest, double TrainSeconds, double EpochSeconds)
{
    /// <summary>Training perplexity, exp(<see cref="TrainLoss"/>).</summary>
    public double TrainPerplexity => Math.Exp(TrainLoss);
}
