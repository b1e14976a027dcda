namespace NewLlm.Training;

/// <summary>
/// The original's early stopping, as a built-in callback (as Lightning's <c>EarlyStopping</c>): once <see cref="Patience"/>
/// validations in a row did not improve on its reference loss by at least <see cref="MinDelta"/>, it asks the trainer to
/// stop (<see cref="TrainerControl.RequestEarlyStop"/>). Its counter is saved in checkpoints. The trainer adds one
/// configured from the options unless early stopping is off or the callbacks given hold one;
/// <see cref="Trainer.RemoveCallback{T}"/> removes it.
/// </summary>
public sealed class EarlyStopping : ITrainerCallback, ICheckpointStateful
{
    /// <summary>Creates the callback.</summary>
    /// <param name="patience">Epochs without improvement before stopping; at least 1.</param>
    /// <param name="minDelta">The decrease in validation loss that counts as an improvement; 0 or more.</param>
    public EarlyStopping(int patience, double minDelta = 0.001)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        if (!double.IsFinite(minDelta) || minDelta < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "minDelta must be a finite number, 0 or more.");
        }

        Patience = patience;
        MinDelta = minDelta;
    }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>The decrease in validation loss that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>The loss an improvement is measured against (the last one that improved by <see cref="MinDelta"/>), or null before the first validation.</summary>
    public double? Reference { get; private set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int EpochsWithoutImprovement { get; private set; }

    /// <inheritdoc />
    public string StateKey => "early-stopping";

    /// <inheritdoc />
    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics)
    {
        if (Reference is not double reference || metrics.Loss < reference - MinDelta)
        {
            Reference = metrics.Loss;
            EpochsWithoutImprovement = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
        }

        if (EpochsWithoutImprovement >= Patience)
        {
            context.Control.RequestEarlyStop(string.Create(CultureInfo.InvariantCulture, $"early stopping: no improvement of validation loss by {MinDelta} for {Patience} epochs"));
        }
    }

    /// <inheritdoc />
    public JsonNode SaveState() => new JsonObject
    {
        ["reference"] = Reference,
        ["epochs_without_improvement"] = EpochsWithoutImprovement,
    };

    /// <inheritdoc />
    public void LoadState(JsonNode state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Reference = state["reference"]?.GetValue<double>();
        EpochsWithoutImprovement = state["epochs_without_improvement"]?.GetValue<int>() ?? 0;
    }
}
