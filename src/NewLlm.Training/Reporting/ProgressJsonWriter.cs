using System.Text.Json;
using System.Text.Json.Nodes;
using NewLlm.Training.Callbacks;
using NewLlm.Training.Files;
using NewLlm.Training.Metrics;

namespace NewLlm.Training.Reporting;

/// <summary>
/// Writes <c>{name}_progress.json</c> after every epoch with the original's fields (model_name, current_epoch, total_epochs,
/// train_losses, val_losses, train_ppls, val_ppls, best_val_loss, best_val_ppl, stopped_early, config) plus the new
/// metrics (val_accuracies, val_bits_per_byte, val_preference_accuracies, learning_rates, epoch_seconds, global_step).
/// The whole history is rewritten each time, so a resumed run continues the same file.
/// </summary>
public sealed class ProgressJsonWriter : ITrainerCallback
{
    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record) => Write(context, stoppedEarly: context.StoppedEarly);

    /// <inheritdoc />
    public void OnTrainEnd(TrainerContext context, TrainingResult result)
    {
        if (context.History.Count > 0)
        {
            Write(context, result.Outcome == TrainingOutcome.StoppedEarly);
        }
    }

    /// <summary>The progress document for a context (what the file holds).</summary>
    public static JsonObject Build(TrainerContext context, bool stoppedEarly)
    {
        ArgumentNullException.ThrowIfNull(context);
        IReadOnlyList<EpochRecord> history = context.History;
        static JsonArray Array(IEnumerable<double?> values) => new(values.Select(v => v is double d && double.IsFinite(d) ? JsonValue.Create(d) : null).ToArray<JsonNode?>());
        JsonObject config = Trainer.DescribeOptions(context.Options);
        NewLlmOptions model = context.Model.Options;
        config["num_layers"] = model.NumLayers;
        config["vocab_size"] = model.VocabSize;
        config["embed_dim"] = model.EmbedDim;
        config["hidden_dim"] = model.HiddenDim;
        config["context_vector_dim"] = model.ContextDim;
        config["dropout"] = model.Dropout;
        config["parameters"] = context.Model.ParameterCount;
        config["train_sequences"] = context.TrainSequenceCount;
        config["val_sequences"] = context.ValidationSequenceCount;
        return new JsonObject
        {
            ["model_name"] = context.Options.ModelName,
            ["current_epoch"] = history.Count == 0 ? 0 : history[^1].Epoch,
            ["total_epochs"] = context.Options.Epochs,
            ["train_losses"] = Array(history.Select(r => (double?)r.TrainLoss)),
            ["val_losses"] = Array(history.Select(r => r.Validation?.Loss)),
            ["train_ppls"] = Array(history.Select(r => (double?)r.TrainPerplexity)),
            ["val_ppls"] = Array(history.Select(r => r.Validation?.Perplexity)),
            ["best_val_loss"] = context.BestValidationLoss,
            ["best_val_ppl"] = context.BestValidationLoss is double best ? Math.Exp(best) : null,
            ["stopped_early"] = stoppedEarly,
            ["config"] = config,
            ["val_accuracies"] = Array(history.Select(r => r.Validation?.Accuracy)),
            ["val_bits_per_byte"] = Array(history.Select(r => r.Validation?.BitsPerByte)),
            ["val_preference_accuracies"] = Array(history.Select(r => r.Validation?.PreferenceAccuracy)),
            ["learning_rates"] = Array(history.Select(r => (double?)r.LearningRate)),
            ["epoch_seconds"] = Array(history.Select(r => (double?)r.EpochSeconds)),
            ["global_step"] = context.GlobalStep,
            ["best_epoch"] = context.BestEpoch,
            ["best_checkpoint"] = context.BestCheckpointPath,
        };
    }

    private static void Write(TrainerContext context, bool stoppedEarly)
    {
        if (context.Options.OutputDirectory is null)
        {
            return;
        }

        JsonObject document = Build(context, stoppedEarly);
        AtomicFile.Write(ReportFiles.ProgressJson(context.Options), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            document.WriteTo(writer);
        });
    }
}
