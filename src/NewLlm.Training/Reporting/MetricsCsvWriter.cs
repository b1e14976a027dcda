using System.Text;

namespace NewLlm.Training;

/// <summary>
/// Writes <c>{name}_metrics.csv</c>, one row per epoch (the whole history, rewritten after every epoch). <c>val_loss</c>,
/// <c>val_ppl</c> and <c>val_accuracy</c> are token-weighted; <c>val_batch_mean_loss</c> and <c>val_batch_mean_ppl</c> are
/// the original trainer's figures (mean of the validation batches' mean losses); <c>val_preference_accuracy</c> compares
/// summed log-likelihoods, <c>val_per_token_preference_accuracy</c> mean log-likelihoods per counted target. Newer columns
/// come last, so that every earlier column keeps its place.
/// </summary>
public sealed class MetricsCsvWriter : ITrainerCallback
{
    /// <summary>The header row.</summary>
    public const string Header = "epoch,global_step,learning_rate,train_loss,train_ppl,val_loss,val_ppl,val_accuracy,val_bits_per_byte,val_preference_accuracy,val_tokens,train_seconds,epoch_seconds,is_best,val_batch_mean_loss,val_batch_mean_ppl,val_per_token_preference_accuracy";

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        if (context.Options.OutputDirectory is null)
        {
            return;
        }

        string text = Build(context.State.History);
        AtomicFile.Write(RunDirectory.MetricsCsv(context.Options), stream => stream.Write(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>The CSV text of a history.</summary>
    public static string Build(IEnumerable<EpochRecord> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        static string N(double? v) => v is double d && !double.IsNaN(d) ? d.ToString("R", CultureInfo.InvariantCulture) : string.Empty;
        var text = new StringBuilder().Append(Header).Append('\n');
        foreach (EpochRecord r in history)
        {
            EvaluationMetrics? v = r.Validation;
            text.Append(string.Join(',',
                r.Epoch.ToString(CultureInfo.InvariantCulture),
                r.GlobalStep.ToString(CultureInfo.InvariantCulture),
                N(r.LearningRate),
                N(r.TrainLoss),
                N(r.TrainPerplexity),
                N(v?.Loss),
                N(v?.Perplexity),
                N(v?.Accuracy),
                N(v?.BitsPerByte),
                N(v?.PreferenceAccuracy),
                v?.TokenCount.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
                N(r.TrainSeconds),
                N(r.EpochSeconds),
                r.IsBest ? "true" : "false",
                N(v?.BatchMeanLoss),
                N(v?.BatchMeanPerplexity),
                N(v?.PerTokenPreferenceAccuracy))).Append('\n');
        }

        return text.ToString();
    }
}
