using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Training;

/// <summary>
/// Warns, through the trainer's logger, when <see cref="Check"/> finds that an epoch's loss diverges without becoming NaN
/// or infinite (that stops the run with a <see cref="TrainingDivergedException"/>); the <see cref="ConsoleReporter"/>
/// prints the same warning. It only warns. The trainer adds one unless the callbacks given hold one;
/// <see cref="Trainer.RemoveCallback{T}"/> removes it.
/// </summary>
/// <param name="logger">Where the warning goes; nowhere when null.</param>
public sealed class DivergenceMonitor(ILogger? logger = null) : ITrainerCallback
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>
    /// The warning for the last epoch of <paramref name="history"/>, or null. The rule: the epoch's mean training loss
    /// is above ln(<paramref name="vocabSize"/>) + 1 (worse than guessing uniformly, by a factor e in perplexity), or
    /// above twice the first epoch's; or its validation loss is not finite. A run that learns starts at about
    /// ln(vocabulary) and falls (the main HH-RLHF job: 5.21 in epoch 1 down to 3.75, against 7.91 for its vocabulary of
    /// 1,000), so this never fires on it; a learning rate of 10 gives losses in the hundreds of thousands.
    /// </summary>
    /// <param name="history">The epochs so far, the one to check last.</param>
    /// <param name="vocabSize">The model's vocabulary size.</param>
    public static string? Check(IReadOnlyList<EpochRecord> history, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        if (history.Count == 0)
        {
            return null;
        }

        EpochRecord last = history[^1];
        double uniform = Math.Log(vocabSize) + 1;
        double first = history[0].TrainLoss;
        string? why = last.TrainLoss > uniform
            ? string.Create(CultureInfo.InvariantCulture, $"is above ln(vocabulary {vocabSize}) + 1 = {uniform:F2}, worse than guessing uniformly")
            : history.Count > 1 && last.TrainLoss > 2 * first
                ? string.Create(CultureInfo.InvariantCulture, $"is more than twice the first epoch's {first:F4}")
                : null;
        if (why is not null)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"Epoch {last.Epoch}: the training loss {last.TrainLoss:F4} {why}: the run is diverging. Lower the learning rate (or clip gradients harder) and train again, from a checkpoint written before the loss rose if there is one.");
        }

        return last.Validation is EvaluationMetrics v && !double.IsFinite(v.Loss)
            ? string.Create(CultureInfo.InvariantCulture, $"Epoch {last.Epoch}: the validation loss is {v.Loss}: the run is diverging. Lower the learning rate (or clip gradients harder) and train again.")
            : null;
    }

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Check(context.State.History, context.Model.VocabSize) is string warning)
        {
            _logger.LogWarning(TrainingLogEvents.TrainingDiverging, "{Warning}", warning);
        }
    }
}
