using NewLlm.Training.Metrics;

namespace NewLlm.Training.Checkpoints;

/// <summary>The trainer's progress as stored in a checkpoint.</summary>
public sealed class TrainerStateSnapshot
{
    /// <summary>Epochs fully completed.</summary>
    public int CompletedEpochs { get; set; }

    /// <summary>Batches of epoch <c>CompletedEpochs + 1</c> already trained (non-zero only in an interrupt checkpoint).</summary>
    public int BatchesIntoEpoch { get; set; }

    /// <summary>Optimizer steps taken.</summary>
    public long GlobalStep { get; set; }

    /// <summary>The seed of the run (batch shuffling of epoch e uses a generator seeded from it and e).</summary>
    public int Seed { get; set; }

    /// <summary>Best validation loss so far.</summary>
    public double? BestValidationLoss { get; set; }

    /// <summary>Epoch of the best validation loss.</summary>
    public int BestEpoch { get; set; }

    /// <summary>The loss an improvement is measured against for early stopping.</summary>
    public double? EarlyStoppingReference { get; set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int EpochsWithoutImprovement { get; set; }

    /// <summary>Whether early stopping ended the run.</summary>
    public bool StoppedEarly { get; set; }

    /// <summary>Path of the best checkpoint, when written.</summary>
    public string? BestCheckpointPath { get; set; }

    /// <summary>Training-loss sums of the partial epoch (interrupt checkpoints): NLL in nats.</summary>
    public double PartialNll { get; set; }

    /// <summary>Target tokens of the partial epoch.</summary>
    public long PartialTokens { get; set; }

    /// <summary>Text bytes of the partial epoch.</summary>
    public long PartialBytes { get; set; }

    /// <summary>Training seconds already spent in the partial epoch.</summary>
    public double PartialSeconds { get; set; }

    /// <summary>The history: one record per completed epoch.</summary>
    public List<EpochRecord> History { get; set; } = new();
}
