using System.Text.Json.Serialization;

namespace NewLlm.Training;

/// <summary>
/// The one state of a training run: what callbacks read (through <see cref="TrainerContext.State"/>) and what a
/// checkpoint saves and restores, as one object. The trainer changes it; callbacks only read it and make requests
/// through <see cref="TrainerControl"/>. The properties marked as facts of the run describe this run's data and are
/// not taken from a checkpoint.
/// </summary>
public sealed class TrainerState
{
    [JsonInclude]
    [JsonPropertyName("history")]
    private List<EpochRecord> _history = new();

    /// <summary>Number of training sequences (a fact of this run, not saved).</summary>
    [JsonIgnore]
    public int TrainSequenceCount { get; internal set; }

    /// <summary>Number of validation sequences, or null without a validation corpus (a fact of this run, not saved).</summary>
    [JsonIgnore]
    public int? ValidationSequenceCount { get; internal set; }

    /// <summary>Batches per epoch (a fact of this run, not saved).</summary>
    [JsonIgnore]
    public int BatchesPerEpoch { get; internal set; }

    /// <summary>The epoch this call of <see cref="Trainer.Train"/> started at: 1, or more after a resume (not saved).</summary>
    [JsonIgnore]
    public int StartEpoch { get; internal set; } = 1;

    /// <summary>The current 1-based epoch during an epoch; the last completed epoch between epochs (not saved: a checkpoint stores <see cref="CompletedEpochs"/>).</summary>
    [JsonIgnore]
    public int Epoch { get; internal set; }

    /// <summary>Epochs fully trained: the last epoch of <see cref="History"/>, or 0.</summary>
    public int CompletedEpochs => _history.Count == 0 ? 0 : _history[^1].Epoch;

    /// <summary>Batches of the current epoch already trained (non-zero in a checkpoint only when it was written inside an epoch).</summary>
    [JsonInclude]
    public int BatchesIntoEpoch { get; internal set; }

    /// <summary>Optimizer steps taken since the start of the run.</summary>
    [JsonInclude]
    public long GlobalStep { get; internal set; }

    /// <summary>The run's seed (<see cref="TrainerOptions.Seed"/>; the batch order of epoch e is drawn from it and e).</summary>
    [JsonInclude]
    public int Seed { get; internal set; }

    /// <summary>The best validation loss so far, or null before the first validation.</summary>
    [JsonInclude]
    public double? BestValidationLoss { get; internal set; }

    /// <summary>The epoch of <see cref="BestValidationLoss"/>, or 0.</summary>
    [JsonInclude]
    public int BestEpoch { get; internal set; }

    /// <summary>Path of the best checkpoint, once written.</summary>
    [JsonInclude]
    public string? BestCheckpointPath { get; internal set; }

    /// <summary>Path of the last checkpoint written.</summary>
    [JsonInclude]
    public string? LastCheckpointPath { get; internal set; }

    /// <summary>Sum of the training NLL (nats) of the current epoch's batches so far.</summary>
    [JsonInclude]
    [JsonPropertyName("partial_nll")]
    public double EpochNll { get; internal set; }

    /// <summary>Target tokens of the current epoch's batches so far.</summary>
    [JsonInclude]
    [JsonPropertyName("partial_tokens")]
    public long EpochTokens { get; internal set; }

    /// <summary>Text bytes of the current epoch's batches so far.</summary>
    [JsonInclude]
    [JsonPropertyName("partial_bytes")]
    public long EpochBytes { get; internal set; }

    /// <summary>Training seconds of the current epoch spent before this call of <see cref="Trainer.Train"/> (after a mid-epoch resume).</summary>
    [JsonInclude]
    [JsonPropertyName("partial_seconds")]
    public double EpochSecondsBefore { get; internal set; }

    /// <summary>Token-weighted mean training loss of the current epoch's batches so far (NaN before the first).</summary>
    [JsonIgnore]
    public double EpochLoss => EpochTokens == 0 ? double.NaN : EpochNll / EpochTokens;

    /// <summary>One record per completed epoch, resumed epochs included.</summary>
    [JsonIgnore]
    public IReadOnlyList<EpochRecord> History => _history;

    /// <summary>
    /// A state as it stands at some point of a run, for a unit test of a callback (with
    /// <see cref="TrainerContext(TrainerOptions, TrainerState, TrainerControl?, LanguageModel?)"/> or
    /// <see cref="CallbackHarness"/>). The best validation loss and its epoch follow from <paramref name="history"/> by the
    /// trainer's rule (the first validation, then every strictly lower loss) unless given.
    /// </summary>
    /// <param name="history">The completed epochs, in order.</param>
    /// <param name="globalStep">Optimizer steps taken; the last record's step when null.</param>
    /// <param name="batchesPerEpoch">Batches per epoch.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="bestValidationLoss">The best validation loss, instead of the one <paramref name="history"/> gives.</param>
    /// <param name="bestEpoch">The epoch of <paramref name="bestValidationLoss"/>.</param>
    /// <param name="bestCheckpointPath">Path of the best checkpoint.</param>
    /// <param name="lastCheckpointPath">Path of the last checkpoint.</param>
    /// <returns>The state, between epochs: <see cref="Epoch"/> is the last completed one.</returns>
    public static TrainerState Create(
        IEnumerable<EpochRecord>? history = null,
        long? globalStep = null,
        int batchesPerEpoch = 1,
        int seed = 42,
        double? bestValidationLoss = null,
        int bestEpoch = 0,
        string? bestCheckpointPath = null,
        string? lastCheckpointPath = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchesPerEpoch);
        var state = new TrainerState { Seed = seed, BestCheckpointPath = bestCheckpointPath, LastCheckpointPath = lastCheckpointPath };
        foreach (EpochRecord record in history ?? [])
        {
            ArgumentNullException.ThrowIfNull(record, nameof(history));
            if (record.Epoch <= state.CompletedEpochs)
            {
                throw new ArgumentException($"The history's epochs must rise: epoch {record.Epoch} follows epoch {state.CompletedEpochs}.", nameof(history));
            }

            state.AddRecord(record);
            if (record.Validation is EvaluationMetrics validation)
            {
                state.UpdateBest(record.Epoch, validation.Loss);
            }
        }

        if (bestValidationLoss is not null)
        {
            (state.BestValidationLoss, state.BestEpoch) = (bestValidationLoss, bestEpoch);
        }

        state.GlobalStep = globalStep ?? (state._history.Count == 0 ? 0 : state._history[^1].GlobalStep);
        state.SetRunFacts(batchesPerEpoch, null, batchesPerEpoch);
        state.StartEpoch = state.Epoch + 1;
        return state;
    }

    /// <summary>Starts the sums of a new epoch.</summary>
    internal void ResetEpochSums()
    {
        BatchesIntoEpoch = 0;
        EpochNll = 0;
        EpochTokens = 0;
        EpochBytes = 0;
        EpochSecondsBefore = 0;
    }

    /// <summary>Adds one trained batch to the current epoch's sums.</summary>
    internal void AddBatch(double nll, long tokens, long bytes)
    {
        EpochNll += nll;
        EpochTokens += tokens;
        EpochBytes += bytes;
        BatchesIntoEpoch++;
    }

    internal void AddRecord(EpochRecord record) => _history.Add(record);

    /// <summary>The result of a run that ended now: completed epochs, step, history, best, and the last checkpoint written.</summary>
    internal TrainingResult Result(TrainingOutcome outcome, string message) =>
        new(outcome, Epoch, GlobalStep, [.. History], BestValidationLoss, BestCheckpointPath, LastCheckpointPath, message);

    /// <summary>Takes <paramref name="loss"/> as the best validation loss when it is lower than the best so far; returns whether it was.</summary>
    internal bool UpdateBest(int epoch, double loss)
    {
        if (BestValidationLoss is double best && loss >= best)
        {
            return false;
        }

        BestValidationLoss = loss;
        BestEpoch = epoch;
        return true;
    }

    /// <summary>Takes the facts of this run (they are not saved, so a restored state gets them here).</summary>
    internal void SetRunFacts(int trainCount, int? validationCount, int batchesPerEpoch)
    {
        TrainSequenceCount = trainCount;
        ValidationSequenceCount = validationCount;
        BatchesPerEpoch = batchesPerEpoch;
        Epoch = CompletedEpochs;
    }
}
