namespace NewLlm.Training;

/// <summary>
/// The trainer's callbacks, in call order: the given ones, then <see cref="EarlyStopping"/> (when the options ask for
/// patience), <see cref="ModelCheckpoint"/> and <see cref="DivergenceMonitor"/> unless given, then the report writers.
/// </summary>
internal sealed class CallbackList : List<ITrainerCallback>
{
    public CallbackList(IEnumerable<ITrainerCallback>? given, TrainerOptions options, ILogger logger)
        : base(given ?? [])
    {
        if (options.EarlyStoppingPatience > 0 && !this.OfType<EarlyStopping>().Any())
        {
            Add(new EarlyStopping(options.EarlyStoppingPatience, options.EarlyStoppingMinDelta));
        }

        if (!this.OfType<ModelCheckpoint>().Any())
        {
            Add(new ModelCheckpoint(options.SaveBestCheckpoint, options.CheckpointEveryEpochs, options.SaveFinalCheckpoint, options.CheckpointEverySteps));
        }

        if (!this.OfType<DivergenceMonitor>().Any())
        {
            Add(new DivergenceMonitor(logger));
        }

        if (options.OutputDirectory is not null && options.WriteReports)
        {
            AddRange([new ProgressJsonWriter(), new MetricsCsvWriter()]);
        }
    }

    /// <summary>Exactly the callbacks given, with no built-in one added.</summary>
    public CallbackList(IEnumerable<ITrainerCallback> callbacks)
        : base(callbacks)
    {
    }

    public void Raise(Action<ITrainerCallback> action) => ForEach(action);

    /// <summary>Logs that training failed and tells every callback; a callback that fails meanwhile is logged, and the others are still told.</summary>
    public void RaiseException(TrainerContext context, Exception exception, ILogger logger)
    {
        logger.LogError(TrainingLogEvents.TrainingFailedEvent, exception, "Training failed: {Message}", exception.Message);
        foreach (ITrainerCallback callback in this)
        {
            try
            {
                callback.OnException(context, exception);
            }
            catch (Exception inner)
            {
                logger.LogError(TrainingLogEvents.CallbackFailed, inner, "A callback failed while handling an exception.");
            }
        }
    }
}
