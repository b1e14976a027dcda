using NewLlm.Training.Metrics;

namespace NewLlm.Training.Callbacks;

/// <summary>
/// What a callback sees of the trainer: a read-only view of its state, and a small control surface
/// (<see cref="RequestStop"/>, <see cref="RequestCheckpoint"/>).
/// </summary>
public sealed class TrainerContext
{
    private readonly List<EpochRecord> history = new();

    internal TrainerContext(TrainerOptions options, NewLlmModel model, string deviceName, int trainCount, int? validationCount)
    {
        Options = options;
        Model = model;
        DeviceName = deviceName;
        TrainSequenceCount = trainCount;
        ValidationSequenceCount = validationCount;
    }

    /// <summary>The validated options of the run.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained.</summary>
    public NewLlmModel Model { get; }

    /// <summary>The device, as given in the options.</summary>
    public string DeviceName { get; }

    /// <summary>Number of training sequences.</summary>
    public int TrainSequenceCount { get; }

    /// <summary>Number of validation sequences, or null without a validation corpus.</summary>
    public int? ValidationSequenceCount { get; }

    /// <summary>The current 1-based epoch (during an epoch), or the last completed epoch (between epochs).</summary>
    public int Epoch { get; internal set; }

    /// <summary>The epoch the run ends at (<see cref="TrainerOptions.Epochs"/>).</summary>
    public int TotalEpochs => Options.Epochs;

    /// <summary>The epoch this invocation of <see cref="Trainer.TrainAsync"/> started at (greater than 1 after a resume).</summary>
    public int StartEpoch { get; internal set; } = 1;

    /// <summary>Optimizer steps taken since the start of the run.</summary>
    public long GlobalStep { get; internal set; }

    /// <summary>0-based index of the current batch in the epoch.</summary>
    public int BatchIndex { get; internal set; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch { get; internal set; }

    /// <summary>One record per completed epoch, resumed epochs included.</summary>
    public IReadOnlyList<EpochRecord> History => history;

    /// <summary>The best validation loss so far, or null.</summary>
    public double? BestValidationLoss { get; internal set; }

    /// <summary>The epoch of <see cref="BestValidationLoss"/>, or 0.</summary>
    public int BestEpoch { get; internal set; }

    /// <summary>Path of the best checkpoint, once written.</summary>
    public string? BestCheckpointPath { get; internal set; }

    /// <summary>Path of the last checkpoint written.</summary>
    public string? LastCheckpointPath { get; internal set; }

    /// <summary>Epochs since the last improvement of validation loss (the early-stopping counter).</summary>
    public int EpochsWithoutImprovement { get; internal set; }

    /// <summary>Token-weighted training loss of the current epoch's training pass, once it is over (null before).</summary>
    public double? EpochTrainLoss { get; internal set; }

    /// <summary>Wall time of the current epoch's training pass, once it is over (null before).</summary>
    public double? EpochTrainSeconds { get; internal set; }

    /// <summary>Whether a stop was requested (by a callback or early stopping).</summary>
    public bool StopRequested => StopReason is not null;

    /// <summary>Why the stop was requested, or null.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Whether a checkpoint was requested and not yet written.</summary>
    public bool CheckpointRequested { get; internal set; }

    /// <summary>Asks the trainer to stop after the current epoch (training ends cleanly with the final checkpoint).</summary>
    /// <param name="reason">Why, for reports.</param>
    public void RequestStop(string reason)
    {
        StopReason ??= string.IsNullOrWhiteSpace(reason) ? "stop requested by a callback" : reason;
    }

    /// <summary>Asks the trainer to write <c>{name}_epoch_{n}.pt</c> at the end of the current epoch.</summary>
    public void RequestCheckpoint() => CheckpointRequested = true;

    internal bool StoppedEarly { get; set; }

    internal void AddRecord(EpochRecord record) => history.Add(record);

    internal void ReplaceHistory(IEnumerable<EpochRecord> records)
    {
        history.Clear();
        history.AddRange(records);
    }

    internal void ClearStop() => StopReason = null;
}
