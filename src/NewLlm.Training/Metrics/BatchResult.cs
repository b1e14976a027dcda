namespace NewLlm.Training;

/// <summary>What one training batch produced.</summary>
/// <param name="Epoch">The 1-based epoch.</param>
/// <param name="BatchIndex">0-based index of the batch in the epoch.</param>
/// <param name="BatchCount">Number of batches in the epoch.</param>
/// <param name="GlobalStep">Optimizer steps taken since the start of the run, after this batch.</param>
/// <param name="Loss">Mean loss per target token of the batch, in nats.</param>
/// <param name="TokenCount">Non-PAD target tokens in the batch.</param>
/// <param name="LearningRate">Learning rate in use.</param>
/// <param name="GradientNorm">Gradient norm before clipping, when this batch ended an optimizer step; otherwise null.</param>
public sealed record BatchResult(int Epoch, int BatchIndex, int BatchCount, long GlobalStep, double Loss, long TokenCount, double LearningRate, double? GradientNorm);
