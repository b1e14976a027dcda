using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace NewLlm.Training;

/// <summary>
/// Trains a <see cref="LanguageModel"/> (<see cref="NewLlmModel"/> or <see cref="TransformerBaselineModel"/>) on a tokenized corpus as the original New-LLM script did (next-token cross-entropy,
/// PAD ignored, shuffled batches, Adam, gradient-norm clipping, validation every epoch), with token-weighted metrics,
/// callbacks, and checkpoints that resume exactly.
/// <para>
/// The run has one <see cref="TrainerState"/>, which callbacks read and checkpoints save, and one
/// <see cref="TrainerControl"/>, through which callbacks make requests (stop, validate, checkpoint) that the loop acts on
/// at fixed points. The original's policies are built-in callbacks configured from the options: <see cref="EarlyStopping"/>
/// and <see cref="ModelCheckpoint"/>; pass your own instance of either to replace it, or remove it with
/// <see cref="RemoveCallback{T}"/>.
/// </para>
/// </summary>
/// <example>
/// <code>
/// using var trainer = new Trainer(model, train, validation, new TrainerOptions { Epochs = 6, BatchSize = 64, OutputDirectory = "out" },
///     tokenizer, callbacks: [new ConsoleReporter()]);
/// TrainingResult result = await trainer.TrainAsync(cancellationToken);
/// </code>
/// </example>
public sealed class Trainer : IDisposable
{
    private readonly TokenizedCorpus _trainData;
    private readonly TokenizedCorpus? _validationData;
    private readonly DialogueTokenizer? _tokenizer;
    private readonly ILogger _logger;
    private readonly OptimizerHelper _optimizer;
    private readonly TrainingStep _step;
    private readonly ScalarType? _modelComputeDType; // the model's own, given back by Dispose
    private readonly CallbackList _callbacks;
    private readonly RunProtocol _protocol;
    private readonly RunGate _gate = new();
    private Dictionary<string, JsonNode?> _unclaimedStates = new(StringComparer.Ordinal);
    private bool _resumed;
    private string? _continuesIn; // the directory whose results this trainer continues (LoadCheckpoint's, or an earlier Train call's)
    private bool _disposed;

    /// <summary>Creates a trainer. The model is moved to the options' device; nothing is trained until <see cref="Train"/> or <see cref="TrainAsync"/>.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="trainData">The training corpus.</param>
    /// <param name="validationData">The validation corpus; without it there is no validation, best checkpoint or early stopping.</param>
    /// <param name="options">The options; validated (a copy is kept).</param>
    /// <param name="tokenizer">The tokenizer of the corpora, stored in checkpoints (and checked on resume); optional.</param>
    /// <param name="preferencePairs">Chosen/rejected pairs for <see cref="EvaluationMetrics.PreferenceAccuracy"/> at each validation; null skips it.</param>
    /// <param name="callbacks">Callbacks, called in order. The built-in <see cref="EarlyStopping"/>, <see cref="ModelCheckpoint"/> and <see cref="DivergenceMonitor"/> follow them unless given here, then the report writers for the output directory (see <see cref="TrainerOptions.WriteReports"/>).</param>
    /// <param name="logger">Diagnostics; none when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">The corpora do not fit the model (vocabulary) or each other.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for and is not available, or a training step cannot fit (<see cref="TrainingMemoryEstimate.CheckFits"/>: the message names the largest batch size that fits).</exception>
    /// <exception cref="NotSupportedException"><see cref="TrainerOptions.Precision"/> is <see cref="TrainingPrecision.BFloat16Mixed"/> on a CPU without native bfloat16 products, and <see cref="TrainerOptions.AllowSlowBFloat16"/> is not set.</exception>
    public Trainer(
        LanguageModel model,
        TokenizedCorpus trainData,
        TokenizedCorpus? validationData,
        TrainerOptions options,
        DialogueTokenizer? tokenizer = null,
        TokenizedPreferencePairs? preferencePairs = null,
        IEnumerable<ITrainerCallback>? callbacks = null,
        ILogger<Trainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Clone().Validate();
        TrainerInputs.Check(model, trainData, validationData, tokenizer, preferencePairs, Options);
        _trainData = trainData;
        _validationData = validationData;
        _tokenizer = tokenizer;
        PreferencePairs = preferencePairs;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Device device = DeviceName.Resolve(Options.Device);
        TrainerInputs.CheckPrecision(Options, device);

        Model = model;
        model.to(device);
        _modelComputeDType = model.ComputeDType;
        model.ComputeDType = Options.Precision == TrainingPrecision.BFloat16Mixed ? ScalarType.BFloat16 : null;
        _optimizer = OptimizerFactory.Create(model, Options);
        _step = new TrainingStep(model, _optimizer, device, trainData.PadId);
        _callbacks = new CallbackList(callbacks, Options, _logger);

        State = new TrainerState { Seed = Options.Seed };
        State.SetRunFacts(trainData.Count, validationData?.Count, (trainData.Count + Options.BatchSize - 1) / Options.BatchSize);
        Context = new TrainerContext(this);
        _protocol = new RunProtocol(_callbacks, Context, (kind, epoch) => WriteCheckpoint(kind, epoch));
    }

    /// <summary>The validated options (a copy of those given).</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained.</summary>
    public LanguageModel Model { get; }

    /// <summary>The run's state: progress, best so far, history (what checkpoints save).</summary>
    public TrainerState State { get; private set; }

    /// <summary>The callbacks' requests to the trainer.</summary>
    public TrainerControl Control { get; } = new();

    /// <summary>What callbacks receive: options, model, <see cref="State"/> and <see cref="Control"/>.</summary>
    public TrainerContext Context { get; }

    /// <summary>The callbacks, in call order: those given, the built-in ones, the report writers.</summary>
    public IReadOnlyList<ITrainerCallback> Callbacks => _callbacks;

    /// <summary>The chosen/rejected pairs for preference accuracy, or null.</summary>
    public TokenizedPreferencePairs? PreferencePairs { get; }

    /// <summary>Adds a callback after the others (before training). It gets its state from a checkpoint loaded earlier, if one was saved under its key.</summary>
    /// <param name="callback">The callback.</param>
    /// <exception cref="InvalidOperationException">Training is running.</exception>
    public void AddCallback(ITrainerCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        _gate.ThrowIfRunning();
        if (callback is ICheckpointStateful stateful && _unclaimedStates.Remove(stateful.StateKey, out JsonNode? state) && state is not null)
        {
            stateful.LoadState(state.DeepClone());
        }

        _callbacks.Add(callback);
    }

    /// <summary>Removes every callback of type <typeparamref name="T"/> (for example the built-in <see cref="EarlyStopping"/>), before training.</summary>
    /// <returns>How many were removed.</returns>
    /// <exception cref="InvalidOperationException">Training is running.</exception>
    public int RemoveCallback<T>()
        where T : ITrainerCallback
    {
        _gate.ThrowIfRunning();
        return _callbacks.RemoveAll(c => c is T);
    }

    /// <summary>
    /// Restores everything from a checkpoint so that training continues exactly where it was saved: weights, optimizer
    /// state, <see cref="State"/> with the history, the callbacks' states (a state no callback claims is kept for a
    /// callback added later, and a warning when training starts), and the random generator. Everything is validated
    /// before anything is changed. <see cref="TrainerOptions.Epochs"/> stays the total: a run saved after epoch 2 and
    /// resumed with 4 epochs trains epochs 3 and 4.
    /// <para>
    /// It also takes the original Python trainer's checkpoint (weights, Adam's state and hyper-parameters, the loss lists
    /// and <c>current_epoch</c>; the model must have its shape). That stores no tokenizer (not checked; the log says so),
    /// no generator state (seeded from <see cref="TrainerOptions.Seed"/>) and no callback states; from the next step on
    /// the learning rate comes from <see cref="TrainerOptions.LearningRate"/> and its schedule (a warning names both when
    /// they differ).
    /// </para>
    /// </summary>
    /// <param name="path">The checkpoint: one the trainer wrote (any version), or the original trainer's.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or corrupted, holds another model shape, was trained with another tokenizer, or a part of it cannot be loaded.</exception>
    /// <exception cref="InvalidOperationException">Training is running.</exception>
    public void LoadCheckpoint(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _gate.ThrowIfRunning();
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        (State, _unclaimedStates) = TrainerResume.Load(
            path, Model, _optimizer, [.. _callbacks.OfType<ICheckpointStateful>()], _tokenizer, Options, State, _logger);
        _resumed = true;
        _continuesIn = Path.GetDirectoryName(Path.GetFullPath(path));
    }

    /// <summary>Writes a checkpoint of the current state to any path (the trainer writes its own under the output directory).</summary>
    /// <param name="path">The file to write (replaced whole, never torn).</param>
    /// <param name="kind">The kind recorded in the manifest.</param>
    public void SaveCheckpoint(string path, CheckpointKind kind = CheckpointKind.Requested)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        TrainingCheckpoint.Save(path, kind, Options, Model, _optimizer, State, _callbacks.OfType<ICheckpointStateful>(), _tokenizer);
    }

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Epochs"/> epochs are complete, a callback stops it (early stopping is one),
    /// the step limit is reached, or <paramref name="cancellationToken"/> fires (then it stops after the current optimizer
    /// step and writes <c>{name}_interrupted.pt</c>, from which <see cref="LoadCheckpoint"/> resumes exactly).
    /// Runs on the calling thread; see <see cref="TrainAsync"/> for hosts that must not block. The model is left in the
    /// mode (training or evaluation) it was in before the call.
    /// </summary>
    /// <param name="cancellationToken">Stops training cleanly.</param>
    /// <returns>How the run ended, with the history.</returns>
    /// <exception cref="InvalidOperationException">This trainer is already training.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite (no checkpoint is written for the failing epoch).</exception>
    /// <exception cref="IOException">The output directory cannot be written.</exception>
    public TrainingResult Train(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _gate.Enter();
        return _gate.RunThenExit(() => Run(cancellationToken));
    }

    /// <summary>
    /// <see cref="Train"/> on a thread of its own (a long-running task: training has no I/O to await and would hold a
    /// thread-pool thread for minutes), so that a UI or a hosted service does not block its own thread. A second call
    /// while one runs is refused at once.
    /// </summary>
    /// <param name="cancellationToken">Stops training cleanly (see <see cref="Train"/>).</param>
    /// <returns>How the run ended, with the history.</returns>
    /// <exception cref="InvalidOperationException">This trainer is already training (thrown by this call, not by the task).</exception>
    public Task<TrainingResult> TrainAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _gate.Enter();
        return Task.Factory.StartNew(() => _gate.RunThenExit(() => Run(cancellationToken)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Token-weighted metrics of the current model on a corpus.</summary>
    /// <param name="corpus">The corpus.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public Task<EvaluationMetrics> EvaluateAsync(TokenizedCorpus corpus, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        return Task.Run(() => Evaluator.Evaluate(Model, corpus, Options.BatchSize, PreferencePairs, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Frees the optimizer's state and the model's training buffers (<see cref="LanguageModel.ReleaseTrainingBuffers"/>),
    /// and gives the model back its own <see cref="LanguageModel.ComputeDType"/>; the model itself stays usable.
    /// </summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _optimizer.Dispose();
            Model.ComputeDType = _modelComputeDType;
            Model.ReleaseTrainingBuffers();
        }
    }

    private TrainingResult Run(CancellationToken cancellationToken)
    {
        using RunDirectory? claim = Options.OutputDirectory is null ? null : RunDirectory.ClaimForRun(Options, _continuesIn, _logger);
        _continuesIn = claim?.FullPath ?? _continuesIn;
        if (!_resumed)
        {
            torch.random.manual_seed(Options.Seed);
        }

        TrainerResume.WarnUnclaimed(_unclaimedStates.Keys, _logger);
        Control.Reset();
        State.StartEpoch = State.Epoch + 1;
        bool wasTraining = Model.training; // the loop switches modes; the caller gets the model back in its own
        try
        {
            _callbacks.Raise(c => c.OnTrainBegin(Context));
            TrainingResult result = RunEpochs(cancellationToken);
            _callbacks.Raise(c => c.OnTrainEnd(Context, result));
            return result;
        }
        catch (Exception ex)
        {
            _callbacks.RaiseException(Context, ex, _logger);
            throw;
        }
        finally
        {
            Model.train(wasTraining);
        }
    }

    /// <summary>The loop: per epoch, batches and steps, validation, events, and the requests acted on.</summary>
    private TrainingResult RunEpochs(CancellationToken cancellationToken)
    {
        long totalSteps = Options.TotalSteps(State.BatchesPerEpoch);
        if (State.Epoch >= Options.Epochs)
        {
            string had = _resumed ? "the checkpoint already has" : "this trainer already has";
            return State.Result(TrainingOutcome.NothingToTrain, $"nothing to train: {had} {State.Epoch} of {Options.Epochs} epochs; raise TrainerOptions.Epochs to train more");
        }

        TrainingOutcome outcome = TrainingOutcome.Completed;
        string message = "all epochs trained";
        while (State.Epoch < Options.Epochs)
        {
            int epoch = ++State.Epoch;
            _callbacks.Raise(c => c.OnEpochBegin(Context));
            var watch = Stopwatch.StartNew();
            double learningRate = _optimizer.ParamGroups.First().LearningRate;
            double maxNorm = Options.GradientClipSchedule.GetMaxNorm(epoch);
            bool stepLimit = false;
            Model.train();
            foreach (LanguageModelBatch[] group in Options.EpochBatches(_trainData, epoch).Skip(State.BatchesIntoEpoch).Chunk(Options.GradientAccumulationSteps))
            {
                learningRate = Options.LearningRateSchedule.GetLearningRate(Options.LearningRate, State.GlobalStep, totalSteps);
                _step.Run(group, State, epoch, learningRate, maxNorm,
                    afterBackward: () => _callbacks.Raise(c => c.OnAfterBackward(Context)),
                    batchEnd: result => _callbacks.Raise(c => c.OnBatchEnd(Context, result)));
                if (Control.ShouldSaveStep)
                {
                    State.EpochSecondsBefore += watch.Elapsed.TotalSeconds; // the epoch's time so far, saved in the step checkpoint
                    watch.Restart();
                }

                _protocol.AfterStep(epoch);

                if (Options.MaxSteps is long limit && State.GlobalStep >= limit)
                {
                    stepLimit = true;
                    break;
                }

                if (cancellationToken.IsCancellationRequested && State.BatchesIntoEpoch < State.BatchesPerEpoch)
                {
                    State.EpochSecondsBefore += watch.Elapsed.TotalSeconds;
                    State.Epoch = epoch - 1;
                    return Cancelled($"in epoch {epoch} after step {State.GlobalStep}");
                }
            }

            EndEpoch(epoch, learningRate, stepLimit, watch);
            if (stepLimit)
            {
                (outcome, message) = (TrainingOutcome.StepLimitReached, $"step limit of {Options.MaxSteps} reached in epoch {epoch}");
                break;
            }

            if (_protocol.RequestedStop is { } stop)
            {
                (outcome, message) = stop;
                break;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return Cancelled($"after epoch {epoch}");
            }
        }

        return _protocol.Finish(outcome, message);
    }

    /// <summary>The end of an epoch: validation when due, then the record, the events and the requests (<see cref="RunProtocol.EndEpoch"/>).</summary>
    private void EndEpoch(int epoch, double learningRate, bool stepLimit, Stopwatch watch)
    {
        double trainSeconds = State.EpochSecondsBefore + watch.Elapsed.TotalSeconds;
        bool validate = _validationData is not null
            && (epoch % Options.ValidateEveryEpochs == 0 || epoch == Options.Epochs || stepLimit || Control.ShouldValidate);
        EvaluationMetrics? metrics = validate ? Evaluator.Evaluate(Model, _validationData!, Options.BatchSize, PreferencePairs, CancellationToken.None) : null;
        _logger.LogDebug("Epoch {Epoch}: train loss {TrainLoss:F4}, validation loss {ValLoss:F4}.", epoch, State.EpochLoss, metrics?.Loss);
        _protocol.EndEpoch(epoch, learningRate, metrics, trainSeconds, State.EpochSecondsBefore + watch.Elapsed.TotalSeconds);
    }

    /// <summary>Ends a cancelled run: writes the resumable interrupt checkpoint (when there is an output directory) and says where to resume from.</summary>
    private TrainingResult Cancelled(string when)
    {
        string? path = WriteCheckpoint(CheckpointKind.Interrupted, State.Epoch);
        return State.Result(TrainingOutcome.Cancelled, $"cancelled {when}" + (path is null ? string.Empty : $"; resume from {path}"));
    }

    /// <summary>Writes a checkpoint under the output directory (none without one) and raises <see cref="ITrainerCallback.OnCheckpointSaved"/>.</summary>
    private string? WriteCheckpoint(CheckpointKind kind, int epoch)
    {
        if (Options.OutputDirectory is null)
        {
            return null;
        }

        string path = CheckpointWriter.Write(Options, State, kind, epoch, file => SaveCheckpoint(file, kind));
        _logger.LogDebug("Checkpoint written: {Path}", path);
        var info = new CheckpointInfo(path, kind, epoch, State.GlobalStep);
        _callbacks.Raise(c => c.OnCheckpointSaved(Context, info));
        return path;
    }
}
