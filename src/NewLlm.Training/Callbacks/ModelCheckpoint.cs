namespace NewLlm.Training;

/// <summary>
/// The original's checkpoint policy, as a built-in callback (as Lightning's <c>ModelCheckpoint</c>): it requests
/// <c>best_{name}.pt</c> after each best validation, <c>{name}_epoch_{n}.pt</c> every <see cref="EveryEpochs"/> epochs,
/// <c>{name}_step_{n}.pt</c> every <see cref="EverySteps"/> steps (keeping only the newest), and <c>{name}_final.pt</c> when
/// training ends (deleting the step checkpoints and <c>{name}_interrupted.pt</c>, which it supersedes). The trainer
/// writes the files under <see cref="TrainerOptions.OutputDirectory"/> (none without one), and adds one configured from
/// the options unless the callbacks given hold one; <see cref="Trainer.RemoveCallback{T}"/> removes it.
/// </summary>
/// <param name="saveBest">Request the best checkpoint whenever validation loss improves.</param>
/// <param name="everyEpochs">Request <c>{name}_epoch_{n}.pt</c> every this many epochs; 0 for never.</param>
/// <param name="saveFinal">Request the final checkpoint when training ends.</param>
/// <param name="everySteps">Request <c>{name}_step_{n}.pt</c> every this many optimizer steps; 0 for never.</param>
public sealed class ModelCheckpoint(bool saveBest = true, int everyEpochs = 5, bool saveFinal = true, long everySteps = 0) : ITrainerCallback
{
    /// <summary>Whether the best checkpoint is requested.</summary>
    public bool SaveBest { get; } = saveBest;

    /// <summary>The period of <c>{name}_epoch_{n}.pt</c> in epochs; 0 for never.</summary>
    public int EveryEpochs { get; } = everyEpochs >= 0 ? everyEpochs : throw new ArgumentOutOfRangeException(nameof(everyEpochs), everyEpochs, "everyEpochs must be 0 (never) or more.");

    /// <summary>Whether the final checkpoint is requested.</summary>
    public bool SaveFinal { get; } = saveFinal;

    /// <summary>The period of <c>{name}_step_{n}.pt</c> in optimizer steps; 0 for never.</summary>
    public long EverySteps { get; } = everySteps >= 0 ? everySteps : throw new ArgumentOutOfRangeException(nameof(everySteps), everySteps, "everySteps must be 0 (never) or more.");

    /// <inheritdoc />
    public void OnTrainBegin(TrainerContext context)
    {
        if (SaveFinal)
        {
            context.Control.RequestCheckpoint(CheckpointKind.Final);
        }
    }

    /// <inheritdoc />
    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics)
    {
        if (SaveBest && context.State.BestEpoch == context.State.Epoch)
        {
            context.Control.RequestCheckpoint(CheckpointKind.Best);
        }
    }

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        if (EveryEpochs > 0 && record.Epoch % EveryEpochs == 0)
        {
            context.Control.RequestCheckpoint(CheckpointKind.Periodic);
        }
    }

    /// <inheritdoc />
    public void OnBatchEnd(TrainerContext context, BatchResult batch)
    {
        if (EverySteps > 0 && batch.GlobalStep % EverySteps == 0)
        {
            context.Control.RequestCheckpoint(CheckpointKind.Step);
        }
    }

    /// <inheritdoc />
    public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint)
    {
        if (checkpoint.Kind is not (CheckpointKind.Step or CheckpointKind.Final) || Path.GetDirectoryName(checkpoint.Path) is not string directory)
        {
            return;
        }

        // Only the newest step checkpoint is kept: the older ones of this run are superseded by it. The final checkpoint
        // supersedes them all and the interrupt checkpoint a resumed run started from, so that no stale checkpoint is
        // left to be resumed by mistake.
        string name = context.Options.ModelName;
        IEnumerable<string> superseded = Directory.EnumerateFiles(directory, $"{name}_step_*.pt");
        if (checkpoint.Kind == CheckpointKind.Final)
        {
            superseded = superseded.Append(Path.Combine(directory, $"{name}_interrupted.pt"));
        }

        foreach (string older in superseded.Where(f => !string.Equals(Path.GetFullPath(f), Path.GetFullPath(checkpoint.Path), StringComparison.Ordinal)))
        {
            File.Delete(older);
        }
    }
}
