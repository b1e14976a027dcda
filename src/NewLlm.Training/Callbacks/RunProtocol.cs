namespace NewLlm.Training;

/// <summary>
/// The end of an epoch and of a run, once the epoch's numbers are known: the record, the events in their documented
/// order, and the callbacks' requests acted on. <see cref="Trainer"/> and <see cref="CallbackHarness"/> both go through
/// it, so a callback sees the same sequence in a unit test as in training.
/// </summary>
/// <param name="callbacks">The callbacks, in call order.</param>
/// <param name="context">What they receive.</param>
/// <param name="writeCheckpoint">Writes a checkpoint of a kind for an epoch and raises <see cref="ITrainerCallback.OnCheckpointSaved"/>.</param>
internal sealed class RunProtocol(List<ITrainerCallback> callbacks, TrainerContext context, Action<CheckpointKind, int> writeCheckpoint)
{
    private TrainerState State => context.State;

    private TrainerControl Control => context.Control;

    private void Raise(Action<ITrainerCallback> action) => callbacks.ForEach(action);

    /// <summary>Writes the step checkpoint requested in this optimizer step's events, if any; returns whether it did.</summary>
    public bool AfterStep(int epoch)
    {
        if (!Control.ShouldSaveStep)
        {
            return false;
        }

        writeCheckpoint(CheckpointKind.Step, epoch);
        Control.ClearStepCheckpoint();
        return true;
    }

    /// <summary>Records the epoch, raises its validation and end events, and writes the checkpoints requested in them.</summary>
    public EpochRecord EndEpoch(int epoch, double learningRate, EvaluationMetrics? metrics, double trainSeconds, double epochSeconds)
    {
        bool isBest = metrics is not null && State.UpdateBest(epoch, metrics.Loss);
        var record = new EpochRecord(epoch, State.GlobalStep, learningRate, State.EpochLoss, metrics, isBest, trainSeconds, epochSeconds);
        State.AddRecord(record);
        State.ResetEpochSums();
        Control.ClearValidation();
        if (metrics is not null)
        {
            Raise(c => c.OnEvaluationEnd(context, metrics));
            if (Control.ShouldSaveBest)
            {
                writeCheckpoint(CheckpointKind.Best, epoch);
                Control.ClearBest();
            }
        }

        Raise(c => c.OnEpochEnd(context, record));
        if (Control.EpochCheckpoint is CheckpointKind kind)
        {
            writeCheckpoint(kind, epoch);
            Control.ClearEpochCheckpoint();
        }

        return record;
    }

    /// <summary>The outcome of a stop a callback requested, or null when none was.</summary>
    public (TrainingOutcome Outcome, string Message)? RequestedStop =>
        Control.ShouldStop ? (Control.IsEarlyStop ? TrainingOutcome.StoppedEarly : TrainingOutcome.StopRequested, Control.StopReason!) : null;

    /// <summary>Ends a run that was not cancelled: the final checkpoint when requested, then the result (before <see cref="ITrainerCallback.OnTrainEnd"/>).</summary>
    public TrainingResult Finish(TrainingOutcome outcome, string message)
    {
        if (Control.ShouldSaveFinal)
        {
            writeCheckpoint(CheckpointKind.Final, State.Epoch);
        }

        return State.Result(outcome, message);
    }
}
