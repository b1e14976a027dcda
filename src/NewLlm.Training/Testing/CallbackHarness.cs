using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Training;

/// <summary>
/// Drives callbacks through a scripted run, with no model, data or training, for unit tests: epochs with given losses,
/// checkpoints, the end of the run or an exception. The events come in the trainer's order and the callbacks' requests
/// are acted on as the trainer acts on them (the same code decides: stops, validations, best, epoch, step and final
/// checkpoints). <see cref="Events"/> records every event with the requests pending after it, and <see cref="Checkpoints"/>
/// what each checkpoint would hold of the <see cref="ICheckpointStateful"/> callbacks.
/// </summary>
/// <remarks>
/// Each epoch has <see cref="TrainerState.BatchesPerEpoch"/> batches of <see cref="TokensPerBatch"/> target tokens at the
/// epoch's training loss, one optimizer step each. Checkpoints are recorded only where the trainer writes them, with
/// <see cref="TrainerOptions.OutputDirectory"/> set; no file is written (the folder is created, since callbacks such as
/// <see cref="ModelCheckpoint"/> look in it). Unlike <see cref="Trainer"/>, the harness adds no built-in callback.
/// </remarks>
public sealed class CallbackHarness
{
    /// <summary>The target tokens of each scripted batch.</summary>
    public const int TokensPerBatch = 1000;

    private readonly List<ITrainerCallback> _callbacks;
    private readonly RunProtocol _protocol;
    private readonly List<CallbackEvent> _events = [];
    private readonly List<SavedCheckpoint> _checkpoints = [];
    private bool _begun;
    private bool _ended;

    /// <summary>Creates a harness for callbacks, called in the order given (<c>new CallbackHarness([myCallback])</c>).</summary>
    /// <param name="callbacks">The callbacks under test.</param>
    /// <param name="options">The run's options; defaults when null.</param>
    /// <param name="model">A model, for a callback that reads <see cref="TrainerContext.Model"/>.</param>
    /// <param name="state">The state to start from (<see cref="TrainerState.Create"/>); a new run's when null.</param>
    public CallbackHarness(IEnumerable<ITrainerCallback> callbacks, TrainerOptions? options = null, LanguageModel? model = null, TrainerState? state = null)
    {
        ArgumentNullException.ThrowIfNull(callbacks);
        options ??= new TrainerOptions();
        options.Validate();
        _callbacks = [.. callbacks, new EventRecorder(this)];
        if (_callbacks.Any(c => c is null))
        {
            throw new ArgumentException("A callback is null.", nameof(callbacks));
        }

        Context = new TrainerContext(options, state ?? TrainerState.Create(seed: options.Seed), model: model);
        _protocol = new RunProtocol(_callbacks, Context, WriteCheckpoint);
    }

    /// <summary>What the callbacks receive.</summary>
    public TrainerContext Context { get; }

    /// <summary>The run's state.</summary>
    public TrainerState State => Context.State;

    /// <summary>The callbacks' requests.</summary>
    public TrainerControl Control => Context.Control;

    /// <summary>Every event raised so far, in order, each with the requests pending after it.</summary>
    public IReadOnlyList<CallbackEvent> Events => _events;

    /// <summary>The checkpoints the run would have written so far.</summary>
    public IReadOnlyList<SavedCheckpoint> Checkpoints => _checkpoints;

    /// <summary>The result, once <see cref="End"/> has run.</summary>
    public TrainingResult? Result { get; private set; }

    /// <summary>Raises <see cref="ITrainerCallback.OnTrainBegin"/> (the first epoch does when it has not been).</summary>
    /// <returns>This harness.</returns>
    public CallbackHarness Begin()
    {
        EnsureRunning();
        if (!_begun)
        {
            _begun = true;
            State.StartEpoch = State.Epoch + 1;
            Raise(c => c.OnTrainBegin(Context));
        }

        return this;
    }

    /// <summary>Runs one epoch at <paramref name="trainLoss"/>, not validated.</summary>
    /// <param name="trainLoss">The epoch's training loss (nats per token).</param>
    /// <returns>This harness.</returns>
    /// <exception cref="InvalidOperationException">A callback asked to stop, or the run ended: the trainer would not start another epoch.</exception>
    public CallbackHarness Epoch(double trainLoss) => Epoch(trainLoss, validation: null);

    /// <summary>Runs one epoch at <paramref name="trainLoss"/>, validated at <paramref name="validationLoss"/> (accuracy and bits per byte NaN).</summary>
    /// <param name="trainLoss">The epoch's training loss (nats per token).</param>
    /// <param name="validationLoss">The validation loss.</param>
    /// <returns>This harness.</returns>
    /// <exception cref="InvalidOperationException">A callback asked to stop, or the run ended: the trainer would not start another epoch.</exception>
    public CallbackHarness Epoch(double trainLoss, double validationLoss) =>
        Epoch(trainLoss, new EvaluationMetrics(validationLoss, double.NaN, double.NaN, TokensPerBatch, 4 * TokensPerBatch));

    /// <summary>Runs one epoch at <paramref name="trainLoss"/>, validated with <paramref name="validation"/> unless it is null.</summary>
    /// <param name="trainLoss">The epoch's training loss (nats per token).</param>
    /// <param name="validation">The validation metrics; no validation when null.</param>
    /// <returns>This harness.</returns>
    /// <exception cref="InvalidOperationException">A callback asked to stop, or the run ended: the trainer would not start another epoch.</exception>
    public CallbackHarness Epoch(double trainLoss, EvaluationMetrics? validation)
    {
        Begin();
        if (Control.ShouldStop)
        {
            throw new InvalidOperationException($"A callback asked to stop ({Control.StopReason}) in epoch {State.Epoch}: the trainer starts no other epoch. Call End(), or check Control.ShouldStop first.");
        }

        int epoch = ++State.Epoch;
        Raise(c => c.OnEpochBegin(Context));
        double learningRate = Context.Options.LearningRate;
        for (int batch = 0; batch < State.BatchesPerEpoch; batch++)
        {
            Raise(c => c.OnAfterBackward(Context));
            State.GlobalStep++;
            State.AddBatch(trainLoss * TokensPerBatch, TokensPerBatch, 4 * TokensPerBatch);
            var result = new BatchResult(epoch, batch, State.BatchesPerEpoch, State.GlobalStep, trainLoss, TokensPerBatch, learningRate, null);
            Raise(c => c.OnBatchEnd(Context, result));
            _protocol.AfterStep(epoch);
        }

        _protocol.EndEpoch(epoch, learningRate, validation, 0, 0);
        return this;
    }

    /// <summary>Runs one epoch per validation loss (each also the epoch's training loss) until a callback asks to stop, then <see cref="End"/>.</summary>
    /// <param name="validationLosses">The validation loss of each epoch.</param>
    /// <returns>The result: <see cref="TrainingResult.EpochsCompleted"/> says where it stopped.</returns>
    public TrainingResult Run(params double[] validationLosses)
    {
        ArgumentNullException.ThrowIfNull(validationLosses);
        foreach (double loss in validationLosses.TakeWhile(_ => !Control.ShouldStop))
        {
            Epoch(loss, loss);
        }

        return End();
    }

    /// <summary>Ends the run as the trainer does: the final checkpoint when requested, then <see cref="ITrainerCallback.OnTrainEnd"/>.</summary>
    /// <returns>The result.</returns>
    public TrainingResult End()
    {
        Begin();
        (TrainingOutcome outcome, string message) = _protocol.RequestedStop ?? (TrainingOutcome.Completed, "all epochs trained");
        TrainingResult result = _protocol.Finish(outcome, message);
        Raise(c => c.OnTrainEnd(Context, result));
        (Result, _ended) = (result, true);
        return result;
    }

    /// <summary>Fails the run as the trainer does: every callback's <see cref="ITrainerCallback.OnException"/>, each called even when another throws.</summary>
    /// <param name="exception">The failure.</param>
    public void Fail(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        EnsureRunning();
        new CallbackList(_callbacks).RaiseException(Context, exception, NullLogger.Instance);
        _ended = true;
    }

    /// <summary>What a checkpoint written now would hold of the stateful callbacks, by state key, after a JSON round trip.</summary>
    /// <returns>The states.</returns>
    public IReadOnlyDictionary<string, JsonNode> CaptureStates()
    {
        var states = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (ICheckpointStateful stateful in _callbacks.OfType<ICheckpointStateful>())
        {
            states[stateful.StateKey] = JsonNode.Parse(stateful.SaveState().ToJsonString())!;
        }

        return states;
    }

    private void Raise(Action<ITrainerCallback> action) => _callbacks.ForEach(action);

    private void EnsureRunning()
    {
        if (_ended)
        {
            throw new InvalidOperationException("The run has ended: create a new CallbackHarness for another run.");
        }
    }

    private void WriteCheckpoint(CheckpointKind kind, int epoch)
    {
        if (Context.Options.OutputDirectory is not string directory)
        {
            return;
        }

        Directory.CreateDirectory(directory);
        IReadOnlyDictionary<string, JsonNode>? states = null;
        string path = CheckpointWriter.Write(Context.Options, State, kind, epoch, _ => states = CaptureStates());
        var info = new CheckpointInfo(path, kind, epoch, State.GlobalStep);
        _checkpoints.Add(new SavedCheckpoint(info, states!));
        Raise(c => c.OnCheckpointSaved(Context, info));
    }

    /// <summary>The last callback: records each event after the others handled it.</summary>
    private sealed class EventRecorder(CallbackHarness harness) : ITrainerCallback
    {
        public void OnTrainBegin(TrainerContext context) => Record(nameof(OnTrainBegin));

        public void OnEpochBegin(TrainerContext context) => Record(nameof(OnEpochBegin));

        public void OnAfterBackward(TrainerContext context) => Record(nameof(OnAfterBackward));

        public void OnBatchEnd(TrainerContext context, BatchResult batch) => Record(nameof(OnBatchEnd));

        public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) => Record(nameof(OnEvaluationEnd));

        public void OnEpochEnd(TrainerContext context, EpochRecord record) => Record(nameof(OnEpochEnd));

        public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint) => Record(nameof(OnCheckpointSaved), checkpoint);

        public void OnTrainEnd(TrainerContext context, TrainingResult result) => Record(nameof(OnTrainEnd));

        public void OnException(TrainerContext context, Exception exception) => Record(nameof(OnException));

        private void Record(string name, CheckpointInfo? checkpoint = null) =>
            harness._events.Add(new CallbackEvent(name, harness.State.Epoch, harness.State.GlobalStep, ControlRequests.Of(harness.Control), checkpoint));
    }
}
