namespace NewLlm.Training;

/// <summary>Restores a run from the trainer's own checkpoint or the original's (<see cref="Trainer.LoadCheckpoint"/>), validating everything before anything is changed.</summary>
internal static class TrainerResume
{
    /// <summary>Returns the state to continue with (with the run facts of <paramref name="current"/>) and the callback states no callback claimed.</summary>
    public static (TrainerState State, Dictionary<string, JsonNode?> Unclaimed) Load(
        string path, LanguageModel model, OptimizerHelper optimizer, IReadOnlyList<ICheckpointStateful> stateful, DialogueTokenizer? tokenizer, TrainerOptions options, TrainerState current, ILogger logger)
    {
        if (TrainingCheckpoint.IsForeignPyTorchFile(path))
        {
            TrainerState original = OriginalCheckpoint.Restore(path, model, optimizer, options, logger);
            original.SetRunFacts(current.TrainSequenceCount, current.ValidationSequenceCount, current.BatchesPerEpoch);
            torch.random.manual_seed(options.Seed); // the original stores no generator state
            logger.LogInformation(
                TrainingLogEvents.ResumedFromOriginalCheckpoint,
                "Resumed from the original trainer's checkpoint {Path}: {Epochs} epoch(s) completed, step {Step}. It stores no tokenizer, so the tokenizer was not checked: the corpus must be encoded with the vocabulary the original trained with. Callback states (early stopping's) start fresh; the next epoch starts at its first batch.",
                path, original.Epoch, original.GlobalStep);
            return (original, new Dictionary<string, JsonNode?>());
        }

        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
        if (checkpoint.Manifest.State.BatchesIntoEpoch > current.BatchesPerEpoch)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint was taken {checkpoint.Manifest.State.BatchesIntoEpoch} batches into an epoch, but an epoch of this run has {current.BatchesPerEpoch}. Resume with the checkpoint's data and batch size.");
        }

        (TrainerState state, Dictionary<string, JsonNode?> unclaimed) = checkpoint.Restore(model, optimizer, stateful, tokenizer);
        if (state.Seed != options.Seed)
        {
            logger.LogWarning(TrainingLogEvents.CheckpointSeedDiffers, "The checkpoint was trained with seed {Saved}; this run's seed {Seed} is used for the batch order from now on.", state.Seed, options.Seed);
        }

        state.Seed = options.Seed;
        if (checkpoint.Manifest.TrainerOptions["precision"]?.GetValue<string>() is string savedPrecision && savedPrecision != options.Precision.ToString())
        {
            logger.LogWarning(TrainingLogEvents.CheckpointPrecisionDiffers, "The checkpoint was trained with precision {Saved}; this run goes on in {Precision}.", savedPrecision, options.Precision);
        }

        state.SetRunFacts(current.TrainSequenceCount, current.ValidationSequenceCount, current.BatchesPerEpoch);
        logger.LogInformation(TrainingLogEvents.ResumedFromCheckpoint, "Resumed from {Path}: {Epochs} epoch(s) completed, step {Step}.", path, state.CompletedEpochs, state.GlobalStep);
        return (state, unclaimed);
    }

    /// <summary>Warns of each callback state the checkpoint held that no callback of the run claimed (when the run starts).</summary>
    public static void WarnUnclaimed(IEnumerable<string> keys, ILogger logger)
    {
        foreach (string key in keys)
        {
            logger.LogWarning(TrainingLogEvents.CallbackStateUnclaimed, "The checkpoint holds a callback state under '{Key}' that no callback of this run claims; it is not restored.", key);
        }
    }
}
