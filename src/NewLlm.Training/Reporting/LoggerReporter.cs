namespace NewLlm.Training;

/// <summary>Reports a run through an <see cref="ILogger"/> (structured: epoch, losses, perplexity, accuracy, bits per byte, the original's batch-mean loss, preference accuracies), for hosts that log.</summary>
/// <param name="logger">The logger.</param>
public sealed partial class LoggerReporter(ILogger logger) : ITrainerCallback
{
    private readonly ILogger _logger = logger ?? throw new ArgumentNullException(nameof(logger));

    /// <inheritdoc />
    public void OnTrainBegin(TrainerContext context) =>
        TrainBegin(_logger, context.Options.ModelName, context.State.StartEpoch, context.Options.Epochs, context.Options.Device, context.State.TrainSequenceCount, context.State.ValidationSequenceCount ?? 0, context.Model.ParameterCount);

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        EvaluationMetrics? v = record.Validation;
        EpochEnd(_logger, record.Epoch, context.Options.Epochs, record.TrainLoss, v?.Loss ?? double.NaN, v?.Perplexity ?? double.NaN, (v?.Accuracy ?? double.NaN) * 100, v?.BitsPerByte ?? double.NaN, v?.BatchMeanLoss ?? double.NaN, v?.BatchMeanPerplexity ?? double.NaN, record.IsBest, record.EpochSeconds);
        if (v?.PreferenceAccuracy is double summed)
        {
            Preference(_logger, record.Epoch, summed * 100, (v.PerTokenPreferenceAccuracy ?? double.NaN) * 100);
        }
    }

    /// <inheritdoc />
    public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint) => CheckpointSaved(_logger, checkpoint.Kind, checkpoint.Path);

    /// <inheritdoc />
    public void OnTrainEnd(TrainerContext context, TrainingResult result) => TrainEnd(_logger, result.Outcome, result.Message, result.BestValidationLoss ?? double.NaN);

    /// <inheritdoc />
    public void OnException(TrainerContext context, Exception exception) => Failed(_logger, exception, exception.Message);

    [LoggerMessage(EventId = TrainingLogEvents.TrainingStarted, EventName = nameof(TrainingLogEvents.TrainingStarted), Level = LogLevel.Information, Message = "Training {ModelName}: epochs {StartEpoch}-{TotalEpochs} on {Device}, {TrainCount} train / {ValidationCount} validation sequences, {Parameters} parameters")]
    private static partial void TrainBegin(ILogger logger, string modelName, int startEpoch, int totalEpochs, string device, int trainCount, int validationCount, long parameters);

    [LoggerMessage(EventId = TrainingLogEvents.EpochEnded, EventName = nameof(TrainingLogEvents.EpochEnded), Level = LogLevel.Information, Message = "Epoch {Epoch}/{TotalEpochs}: train loss {TrainLoss:F4}, val loss {ValLoss:F4}, PPL {ValPpl:F2}, acc {ValAcc:F1}%, {BitsPerByte:F3} bits/byte (token-weighted; the original's batch mean: loss {ValBatchMeanLoss:F4}, PPL {ValBatchMeanPpl:F2}), best {IsBest}, {Seconds:F1} s")]
    private static partial void EpochEnd(ILogger logger, int epoch, int totalEpochs, double trainLoss, double valLoss, double valPpl, double valAcc, double bitsPerByte, double valBatchMeanLoss, double valBatchMeanPpl, bool isBest, double seconds);

    [LoggerMessage(EventId = TrainingLogEvents.PreferenceAccuracy, EventName = nameof(TrainingLogEvents.PreferenceAccuracy), Level = LogLevel.Information, Message = "Preference accuracy after epoch {Epoch}: {Summed:F1}% (summed log-likelihoods), {PerToken:F1}% (per token)")]
    private static partial void Preference(ILogger logger, int epoch, double summed, double perToken);

    [LoggerMessage(EventId = TrainingLogEvents.CheckpointSaved, EventName = nameof(TrainingLogEvents.CheckpointSaved), Level = LogLevel.Information, Message = "Checkpoint ({Kind}) saved: {Path}")]
    private static partial void CheckpointSaved(ILogger logger, CheckpointKind kind, string path);

    [LoggerMessage(EventId = TrainingLogEvents.TrainingEnded, EventName = nameof(TrainingLogEvents.TrainingEnded), Level = LogLevel.Information, Message = "Training ended ({Outcome}): {Message}; best val loss {BestLoss:F4}")]
    private static partial void TrainEnd(ILogger logger, TrainingOutcome outcome, string message, double bestLoss);

    [LoggerMessage(EventId = TrainingLogEvents.TrainingFailed, EventName = nameof(TrainingLogEvents.TrainingFailed), Level = LogLevel.Error, Message = "Training failed: {Message}")]
    private static partial void Failed(ILogger logger, Exception exception, string message);
}
