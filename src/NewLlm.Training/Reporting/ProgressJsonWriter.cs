namespace NewLlm.Training;

/// <summary>
/// Writes <c>{name}_progress.json</c> after every epoch: the original's fields, then the new metrics. <c>val_losses</c>
/// and <c>val_ppls</c> are token-weighted; <c>val_batch_mean_losses</c> and <c>val_batch_mean_ppls</c> are what the
/// original wrote under those names (the mean of the validation batches' mean losses). <c>val_preference_accuracies</c>
/// compares summed log-likelihoods, <c>val_per_token_preference_accuracies</c> means per counted target. The whole
/// history is rewritten each time, so a resumed run continues the same file; a value that is not finite (JSON has no
/// NaN or Infinity) is written as <c>null</c>.
/// </summary>
public sealed class ProgressJsonWriter : ITrainerCallback
{
    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record) => Write(context, stoppedEarly: context.Control.IsEarlyStop);

    /// <inheritdoc />
    public void OnTrainEnd(TrainerContext context, TrainingResult result)
    {
        if (context.State.History.Count > 0 && result.Outcome != TrainingOutcome.NothingToTrain)
        {
            Write(context, result.Outcome == TrainingOutcome.StoppedEarly);
        }
    }

    /// <summary>The progress document for a context (what the file holds).</summary>
    public static JsonObject Build(TrainerContext context, bool stoppedEarly)
    {
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<EpochRecord> history = context.State.History;
        static JsonArray Array(IEnumerable<double?> values) => new(values.Select(v => v is double d && double.IsFinite(d) ? JsonValue.Create(d) : null).ToArray<JsonNode?>());
        JsonObject config = context.Options.Describe();
        foreach ((string key, JsonNode? value) in ModelConfig.Of(context.Model))
        {
            config[key] = value?.DeepClone();
        }

        config["train_sequences"] = context.State.TrainSequenceCount;
        config["val_sequences"] = context.State.ValidationSequenceCount;
        return new JsonObject
        {
            ["model_name"] = context.Options.ModelName,
            ["current_epoch"] = history.Count == 0 ? 0 : history[^1].Epoch,
            ["total_epochs"] = context.Options.Epochs,
            ["train_losses"] = Array(history.Select(r => (double?)r.TrainLoss)),
            ["val_losses"] = Array(history.Select(r => r.Validation?.Loss)),
            ["train_ppls"] = Array(history.Select(r => (double?)r.TrainPerplexity)),
            ["val_ppls"] = Array(history.Select(r => r.Validation?.Perplexity)),
            ["best_val_loss"] = context.State.BestValidationLoss,
            ["best_val_ppl"] = context.State.BestValidationLoss is double best && double.IsFinite(Math.Exp(best)) ? Math.Exp(best) : null,
            ["stopped_early"] = stoppedEarly,
            ["config"] = config,
            ["val_accuracies"] = Array(history.Select(r => r.Validation?.Accuracy)),
            ["val_bits_per_byte"] = Array(history.Select(r => r.Validation?.BitsPerByte)),
            ["val_preference_accuracies"] = Array(history.Select(r => r.Validation?.PreferenceAccuracy)),
            ["learning_rates"] = Array(history.Select(r => (double?)r.LearningRate)),
            ["epoch_seconds"] = Array(history.Select(r => (double?)r.EpochSeconds)),
            ["global_step"] = context.State.GlobalStep,
            ["best_epoch"] = context.State.BestEpoch,
            ["best_checkpoint"] = context.State.BestCheckpointPath,
            ["val_batch_mean_losses"] = Array(history.Select(r => r.Validation?.BatchMeanLoss)),
            ["val_batch_mean_ppls"] = Array(history.Select(r => r.Validation?.BatchMeanPerplexity)),
            ["val_per_token_preference_accuracies"] = Array(history.Select(r => r.Validation?.PerTokenPreferenceAccuracy)),
        };
    }

    private static void Write(TrainerContext context, bool stoppedEarly)
    {
        if (context.Options.OutputDirectory is null)
        {
            return;
        }

        JsonObject document = Build(context, stoppedEarly);
        AtomicFile.Write(RunDirectory.ProgressJson(context.Options), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, ReadableJson.WriterOptions);
            document.WriteTo(writer);
        });
    }
}
