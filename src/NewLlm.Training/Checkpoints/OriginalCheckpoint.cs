namespace NewLlm.Training;

/// <summary>
/// Resumes a run from the original trainer's checkpoint: weights, Adam's state and hyper-parameters, the per-epoch
/// losses (as <see cref="EpochRecord"/>s whose unknown parts are empty) and the epoch. It stores no tokenizer, generator
/// state or batch position: the run continues at the start of the next epoch.
/// </summary>
internal static class OriginalCheckpoint
{
    /// <summary>Validates everything, then applies it; on any failure nothing is changed. Returns the state the run continues from.</summary>
    public static TrainerState Restore(string path, LanguageModel model, OptimizerHelper optimizer, TrainerOptions options, ILogger logger)
    {
        // The model's sizes are the trainer's: every shape is checked against them before any tensor is read.
        string fullPath = Path.GetFullPath(path);
        using var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        using PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(stream, fullPath, model);
        if (checkpoint.IsStateDictOnly)
        {
            throw new InvalidDataException($"{fullPath}: the file holds model weights only (a state dict), no optimizer state or history, so there is no run to continue. To train from these weights, load them with model.LoadPyTorch(path) and train without LoadCheckpoint.");
        }

        PyTorchAdamState adam = checkpoint.Optimizer
            ?? throw new InvalidDataException($"{fullPath}: the checkpoint has no 'optimizer_state_dict', so Adam cannot continue. To train from its weights, load them with model.LoadPyTorch(path) and train without LoadCheckpoint.");

        // The same checks and the same application as a NewLlm checkpoint's (the shapes were checked while reading).
        PyTorchCheckpointPart.Prepare(checkpoint, adam, model, optimizer, fullPath)();
        foreach (PyTorchAdamParamGroup saved in adam.ParamGroups)
        {
            WarnIfDifferent(logger, fullPath, saved, options);
        }

        optimizer.to(model.Device);
        if (checkpoint.TrainLosses.Count != checkpoint.CompletedEpochs || checkpoint.ValLosses.Count != checkpoint.CompletedEpochs)
        {
            logger.LogWarning(
                TrainingLogEvents.OriginalHistoryIncomplete,
                "{Path}: the checkpoint says {Epochs} epoch(s) are done (current_epoch {CurrentEpoch}) but holds {Train} training and {Validation} validation losses; the history keeps what the lists hold for those epochs.",
                fullPath, checkpoint.CompletedEpochs, checkpoint.CurrentEpoch, checkpoint.TrainLosses.Count, checkpoint.ValLosses.Count);
        }

        return History(checkpoint, adam.State.Count == 0 ? 0 : (long)adam.State.Values.Max(s => s.Step), adam.ParamGroups.FirstOrDefault()?.LearningRate ?? options.LearningRate, options.Seed);
    }

    private static void WarnIfDifferent(ILogger logger, string path, PyTorchAdamParamGroup saved, TrainerOptions options)
    {
        if (saved.Beta1 != options.Beta1 || saved.Beta2 != options.Beta2 || saved.Eps != options.Epsilon || saved.WeightDecay != options.WeightDecay)
        {
            logger.LogWarning(
                TrainingLogEvents.OriginalAdamSettingsUsed,
                "{Path}: the checkpoint's Adam has betas ({Beta1}, {Beta2}), eps {Eps}, weight decay {WeightDecay}; they are used, not TrainerOptions' ({OwnBeta1}, {OwnBeta2}), {OwnEps}, {OwnWeightDecay}.",
                path, saved.Beta1, saved.Beta2, saved.Eps, saved.WeightDecay, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        }

        if (saved.LearningRate != options.LearningRate)
        {
            logger.LogWarning(
                TrainingLogEvents.OriginalLearningRateReplaced,
                "{Path}: the checkpoint's learning rate is {Saved}; from the next step on the trainer sets it from TrainerOptions.LearningRate ({Own}) and its schedule. Set TrainerOptions.LearningRate to {Saved} to continue with the original's rate.",
                path, saved.LearningRate, options.LearningRate, saved.LearningRate);
        }
    }

    /// <summary>The trainer state after the checkpoint's epochs: one record per epoch, none of them a best (see inside).</summary>
    private static TrainerState History(PyTorchCheckpoint checkpoint, long globalStep, double learningRate, int seed)
    {
        // The original stores the 0-based index of the epoch it has just finished (0 after one epoch) and resumes at the next.
        int epochs = checkpoint.CompletedEpochs;
        var state = new TrainerState { Seed = seed, Epoch = epochs, GlobalStep = globalStep };
        int records = Math.Min(epochs, Math.Max(checkpoint.TrainLosses.Count, checkpoint.ValLosses.Count));
        for (int i = 0; i < records; i++)
        {
            double train = i < checkpoint.TrainLosses.Count ? checkpoint.TrainLosses[i] : double.NaN;
            double? validation = i < checkpoint.ValLosses.Count && double.IsFinite(checkpoint.ValLosses[i]) ? checkpoint.ValLosses[i] : null;

            // The original's validation loss is its batch mean (BatchMeanLoss), not this library's token-weighted Loss, which
            // is unknown for its epochs: they are kept for the history, but the best so far is this run's first epoch, so
            // that the best checkpoint and early stopping never compare the two kinds of figure.
            EvaluationMetrics? metrics = validation is double v ? new EvaluationMetrics(double.NaN, double.NaN, double.NaN, 0, 0, BatchMeanLoss: v) : null;
            state.AddRecord(new EpochRecord(i + 1, i == records - 1 ? globalStep : 0, learningRate, train, metrics, IsBest: false, 0, 0));
        }

        return state;
    }
}
