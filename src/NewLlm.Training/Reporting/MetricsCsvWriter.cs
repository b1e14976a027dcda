using System.Globalization;
using System.Text;

namespace NewLlm.Training;

/// <summary>Writes <c>{name}_metrics.csv</c>, one row per epoch (the whole history, rewritten after every epoch).</summary>
public sealed class MetricsCsvWriter : ITrainerCallback
{
    /// <summary>The header row.</summary>
    public const string Header = "epoch,global_step,learning_rate,train_loss,train_ppl,val_loss,val_ppl,val_accuracy,val_bits_per_byte,val_preference_accuracy,val_tokens,train_seconds,epoch_seconds,is_best";

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        if (context.Options.OutputDirectory is null)
        {
            return;
        }

        string text = Build(context.State.History);
        AtomicFile.Write(ReportFiles.MetricsCsv(context.Options), stream => stream.Write(Encoding.UTF8.GetBytes(text)));
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
                r.IsBest ? "true" : "false")).Append('\n');
        }

        return text.ToString();
    }
}
