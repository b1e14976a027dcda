using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NewLlm.Training;

/// <summary>
/// Trains a <see cref="NewLlmModel"/> on a tokenized corpus as the original New-LLM script did (next-token cross-entropy,
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
    private readonly Device _device;
    private readonly OptimizerHelper _optimizer;
    private readonly ScalarType? _modelComputeDType; // the model's own, given back by Dispose
    private readonly List<ITrainerCallback> _callbacks;
    private readonly Dictionary<string, JsonNode?> _unclaimedStates = new(StringComparer.Ordinal);
    private int _running;
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
        NewLlmModel model,
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
        CheckInputs(model, trainData, validationData, tokenizer, preferencePairs);
        if (TrainingMemoryEstimate.ForStep(model.Options, Math.Min(Options.BatchSize, trainData.Count), trainData.SequenceLength, model.parameters().First().dtype, Options.Precision).CheckFits(Options.Device) is string tooLarge)
        {
            throw new InvalidOperationException(tooLarge);
        }

        _trainData = trainData;
        _validationData = validationData;
        _tokenizer = tokenizer;
        PreferencePairs = preferencePairs;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _device = DeviceName.Resolve(Options.Device);
        if (Options.Precision == TrainingPrecision.BFloat16Mixed && !Options.AllowSlowBFloat16)
        {
            TorchBackend.EnsureFastBFloat16(_device, $"{nameof(TrainerOptions)}.{nameof(TrainerOptions.Precision)} = {nameof(TrainingPrecision.BFloat16Mixed)}", $"set {nameof(TrainerOptions)}.{nameof(TrainerOptions.AllowSlowBFloat16)}");
        }

        Model = model;
        model.to(_device);
        _modelComputeDType = model.ComputeDType;
        model.ComputeDType = Options.Precision == TrainingPrecision.BFloat16Mixed ? ScalarType.BFloat16 : null;
        _optimizer = OptimizerFactory.Create(model, Options);
        _callbacks = [.. callbacks ?? []];
        if (Options.EarlyStoppingPatience > 0 && !_callbacks.OfType<EarlyStopping>().Any())
        {
            _callbacks.Add(new EarlyStopping(Options.EarlyStoppingPatience, Options.EarlyStoppingMinDelta));
        }

        if (!_callbacks.OfType<ModelCheckpoint>().Any())
        {
            _callbacks.Add(new ModelCheckpoint(Options.SaveBestCheckpoint, Options.CheckpointEveryEpochs, Options.SaveFinalCheckpoint, Options.CheckpointEverySteps));
        }

        if (!_callbacks.OfType<DivergenceMonitor>().Any())
        {
            _callbacks.Add(new DivergenceMonitor(_logger));
        }

        if (Options.OutputDirectory is not null && Options.WriteReports)
        {
            _callbacks.AddRange([new ProgressJsonWriter(), new MetricsCsvWriter(), new TrainingCurvesPlotter()]);
        }

        State = new TrainerState { Seed = Options.Seed };
        State.SetRunFacts(trainData.Count, validationData?.Count, (trainData.Count + Options.BatchSize - 1) / Options.BatchSize);
        Context = new TrainerContext(this);
    }

    /// <summary>The validated options (a copy of those given).</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained.</summary>
    public NewLlmModel Model { get; }

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
        ThrowIfRunning();
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
        ThrowIfRunning();
        return _callbacks.RemoveAll(c => c is T);
    }

    /// <summary>Path of a checkpoint file for this run's name, e.g. <c>best_{name}.pt</c>, under the output directory.</summary>
    /// <param name="kind">Which checkpoint.</param>
    /// <param name="epoch">The epoch, for periodic checkpoints.</param>
    /// <param name="step">The optimizer step, for <see cref="CheckpointKind.Step"/> checkpoints.</param>
    public string GetCheckpointPath(CheckpointKind kind, int epoch = 0, long step = 0)
    {
        string name = Options.ModelName;
        return ReportFiles.Under(Options, kind switch
        {
            CheckpointKind.Best => $"best_{name}.pt",
            CheckpointKind.Final => $"{name}_final.pt",
            CheckpointKind.Interrupted => $"{name}_interrupted.pt",
            CheckpointKind.Step => string.Create(CultureInfo.InvariantCulture, $"{name}_step_{step}.pt"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{name}_epoch_{epoch}.pt"),
        });
    }

    /// <summary>
    /// Restores everything from a checkpoint so that training continues exactly where it was saved: weights, optimizer
    /// state, <see cref="State"/> with the history, the states of the callbacks (now, into those that claim them; a state
    /// no callback claims is kept for a callback added later and reported as a warning when training starts), and the
    /// random generator. Everything is validated before anything is changed: when it throws, the model, optimizer,
    /// callbacks and trainer are as they were. <see cref="TrainerOptions.Epochs"/> stays the total: a run saved after
    /// epoch 2 and resumed with 4 epochs trains epochs 3 and 4.
    /// <para>
    /// It also takes a checkpoint written by the original Python trainer (a <c>torch.save</c> dict with
    /// <c>model_state_dict</c>, <c>optimizer_state_dict</c>, the loss and perplexity lists and <c>current_epoch</c>):
    /// the weights, Adam's moments, step counts and hyper-parameters, the history (records with what the original does
    /// not store left empty) and the epoch carry over; the model must have the checkpoint's shape. It stores no
    /// tokenizer (the tokenizer is not checked, and the log says so), no generator state (the generator is seeded from
    /// <see cref="TrainerOptions.Seed"/>) and no callback states; from the next step on the learning rate comes from
    /// <see cref="TrainerOptions.LearningRate"/> and its schedule (a warning names both when they differ).
    /// </para>
    /// </summary>
    /// <param name="path">The checkpoint: one the trainer wrote (any version), or the original trainer's.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or corrupted, holds another model shape, was trained with another tokenizer, or a part of it cannot be loaded.</exception>
    /// <exception cref="InvalidOperationException">Training is running.</exception>
    public void LoadCheckpoint(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfRunning();
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (TrainingCheckpoint.IsForeignPyTorchFile(path))
        {
            LoadOriginalCheckpoint(path);
            return;
        }

        using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
        if (checkpoint.Manifest.State.BatchesIntoEpoch > State.BatchesPerEpoch)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint was taken {checkpoint.Manifest.State.BatchesIntoEpoch} batches into an epoch, but an epoch of this run has {State.BatchesPerEpoch}. Resume with the checkpoint's data and batch size.");
        }

        (TrainerState state, Dictionary<string, JsonNode?> unclaimed) = checkpoint.Restore(
            Model, _optimizer, [.. _callbacks.OfType<ICheckpointStateful>()], _tokenizer);
        if (state.Seed != Options.Seed)
        {
            _logger.LogWarning("The checkpoint was trained with seed {Saved}; this run's seed {Seed} is used for the batch order from now on.", state.Seed, Options.Seed);
        }

        state.Seed = Options.Seed;
        if (checkpoint.Manifest.TrainerOptions["precision"]?.GetValue<string>() is string savedPrecision && savedPrecision != Options.Precision.ToString())
        {
            _logger.LogWarning("The checkpoint was trained with precision {Saved}; this run goes on in {Precision}.", savedPrecision, Options.Precision);
        }

        state.SetRunFacts(State.TrainSequenceCount, State.ValidationSequenceCount, State.BatchesPerEpoch);
        State = state;
        _unclaimedStates.Clear();
        foreach ((string key, JsonNode? value) in unclaimed)
        {
            _unclaimedStates[key] = value;
        }

        _resumed = true;
        _continuesIn = Path.GetDirectoryName(Path.GetFullPath(path));
        _logger.LogInformation("Resumed from {Path}: {Epochs} epoch(s) completed, step {Step}.", path, state.CompletedEpochs, state.GlobalStep);
    }

    /// <summary>Resumes from the original Python trainer's checkpoint (see <see cref="LoadCheckpoint"/>).</summary>
    private void LoadOriginalCheckpoint(string path)
    {
        TrainerState state = OriginalCheckpoint.Restore(path, Model, _optimizer, Options, _logger);
        state.SetRunFacts(State.TrainSequenceCount, State.ValidationSequenceCount, State.BatchesPerEpoch);
        State = state;
        _unclaimedStates.Clear();
        torch.random.manual_seed(Options.Seed); // the original stores no generator state
        _resumed = true;
        _continuesIn = Path.GetDirectoryName(Path.GetFullPath(path));
        _logger.LogInformation(
            "Resumed from the original trainer's checkpoint {Path}: {Epochs} epoch(s) completed, step {Step}. It stores no tokenizer, so the tokenizer was not checked: the corpus must be encoded with the vocabulary the original trained with. Callback states (early stopping's) start fresh; the next epoch starts at its first batch.",
            path, state.Epoch, state.GlobalStep);
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
        BeginRun();
        try
        {
            return Run(cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// <see cref="Train"/> on a thread-pool thread. Training is synchronous CPU (or device) work with no I/O to await;
    /// this form exists so that a UI, a hosted service or an interactive host does not block its own thread, and so that
    /// cancellation composes with the host's tokens. A second call while one runs is refused at once.
    /// </summary>
    /// <param name="cancellationToken">Stops training cleanly (see <see cref="Train"/>).</param>
    /// <returns>How the run ended, with the history.</returns>
    /// <exception cref="InvalidOperationException">This trainer is already training (thrown by this call, not by the task).</exception>
    public Task<TrainingResult> TrainAsync(CancellationToken cancellationToken = default)
    {
        BeginRun();
        return Task.Run(
            () =>
            {
                try
                {
                    return Run(cancellationToken);
                }
                finally
                {
                    Volatile.Write(ref _running, 0);
                }
            },
            CancellationToken.None);
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
    /// Frees the optimizer's state and the model's training buffers (<see cref="NewLlmModel.ReleaseTrainingBuffers"/>),
    /// and gives the model back its own <see cref="NewLlmModel.ComputeDType"/>; the model itself stays usable.
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
        using OutputDirectoryLock? claim = Options.OutputDirectory is null ? null : ClaimOutputDirectory(Options.OutputDirectory);
        if (!_resumed)
        {
            torch.random.manual_seed(Options.Seed);
        }

        foreach (string key in _unclaimedStates.Keys)
        {
            _logger.LogWarning("The checkpoint holds a callback state under '{Key}' that no callback of this run claims; it is not restored.", key);
        }

        Control.Reset();
        State.StartEpoch = State.Epoch + 1;
        bool wasTraining = Model.training; // the loop switches modes; the caller gets the model back in its own
        try
        {
            Raise(c => c.OnTrainBegin(Context));
            TrainingResult result = RunEpochs(cancellationToken);
            Raise(c => c.OnTrainEnd(Context, result));
            return result;
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Training failed: {Message}", ex.Message);
            foreach (ITrainerCallback callback in _callbacks)
            {
                try
                {
                    callback.OnException(Context, ex);
                }
                catch (Exception inner)
                {
                    _logger.LogError(inner, "A callback failed while handling an exception.");
                }
            }

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
        long totalSteps = TotalSteps();
        if (State.Epoch >= Options.Epochs)
        {
            string had = _resumed ? "the checkpoint already has" : "this trainer already has";
            return Finish(TrainingOutcome.NothingToTrain, $"nothing to train: {had} {State.Epoch} of {Options.Epochs} epochs; raise TrainerOptions.Epochs to train more");
        }

        TrainingOutcome outcome = TrainingOutcome.Completed;
        string message = "all epochs trained";
        while (State.Epoch < Options.Epochs)
        {
            int epoch = ++State.Epoch;
            Raise(c => c.OnEpochBegin(Context));
            var watch = Stopwatch.StartNew();
            double learningRate = _optimizer.ParamGroups.First().LearningRate;
            double maxNorm = Options.GradientClipSchedule.GetMaxNorm(epoch);
            bool stepLimit = false;
            Model.train();
            foreach (LanguageModelBatch[] group in EpochBatches(epoch).Skip(State.BatchesIntoEpoch).Chunk(Options.GradientAccumulationSteps))
            {
                learningRate = Options.LearningRateSchedule.GetLearningRate(Options.LearningRate, State.GlobalStep, totalSteps);
                TrainStep(group, epoch, learningRate, maxNorm);
                if (Control.ShouldSaveStep)
                {
                    State.EpochSecondsBefore += watch.Elapsed.TotalSeconds;
                    watch.Restart();
                    WriteCheckpoint(CheckpointKind.Step, epoch);
                    Control.ClearStepCheckpoint();
                }

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

            if (Control.ShouldStop)
            {
                (outcome, message) = (Control.IsEarlyStop ? TrainingOutcome.StoppedEarly : TrainingOutcome.StopRequested, Control.StopReason!);
                break;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return Cancelled($"after epoch {epoch}");
            }
        }

        if (Control.ShouldSaveFinal)
        {
            WriteCheckpoint(CheckpointKind.Final, State.Epoch);
        }

        return Finish(outcome, message);
    }

    /// <summary>The end of an epoch: validation, the record, the events, and the checkpoint requests acted on.</summary>
    private void EndEpoch(int epoch, double learningRate, bool stepLimit, Stopwatch watch)
    {
        double trainSeconds = State.EpochSecondsBefore + watch.Elapsed.TotalSeconds;
        bool validate = _validationData is not null
            && (epoch % Options.ValidateEveryEpochs == 0 || epoch == Options.Epochs || stepLimit || Control.ShouldValidate);
        EvaluationMetrics? metrics = validate ? Evaluator.Evaluate(Model, _validationData!, Options.BatchSize, PreferencePairs, CancellationToken.None) : null;
        bool isBest = metrics is not null && UpdateBest(epoch, metrics.Loss);
        var record = new EpochRecord(epoch, State.GlobalStep, learningRate, State.EpochLoss, metrics, isBest, trainSeconds, State.EpochSecondsBefore + watch.Elapsed.TotalSeconds);
        State.AddRecord(record);
        State.ResetEpochSums();
        Control.ClearValidation();
        _logger.LogDebug("Epoch {Epoch}: train loss {TrainLoss:F4}, validation loss {ValLoss:F4}.", epoch, record.TrainLoss, metrics?.Loss);
        if (metrics is not null)
        {
            Raise(c => c.OnEvaluationEnd(Context, metrics));
            if (Control.ShouldSaveBest)
            {
                WriteCheckpoint(CheckpointKind.Best, epoch);
                Control.ClearBest();
            }
        }

        Raise(c => c.OnEpochEnd(Context, record));
        if (Control.EpochCheckpoint is CheckpointKind kind)
        {
            WriteCheckpoint(kind, epoch);
            Control.ClearEpochCheckpoint();
        }
    }

    /// <summary>One optimizer step over a group of batches whose gradients are summed (gradient accumulation).</summary>
    private void TrainStep(LanguageModelBatch[] group, int epoch, double learningRate, double maxNorm)
    {
        long groupTokens = group.Sum(b => (long)b.TargetTokenCount);
        _optimizer.zero_grad();
        var losses = new double[group.Length];
        for (int i = 0; i < group.Length; i++)
        {
            using var scope = NewDisposeScope();
            (Tensor inputs, Tensor targets) = BatchTensors.ToTensors(group[i], _device);
            using NewLlmLoss loss = Model.NextTokenLoss(inputs, targets, _trainData.PadId);
            losses[i] = loss.Sum.item<float>();
            if (!double.IsFinite(losses[i]))
            {
                throw Diverged(epoch, $"the loss is {losses[i].ToString(CultureInfo.InvariantCulture)}", State.BatchesIntoEpoch + i);
            }

            if (groupTokens > 0)
            {
                loss.Sum.div(groupTokens).backward();
            }
        }

        Raise(c => c.OnAfterBackward(Context));
        double? gradientNorm = null;
        if (maxNorm > 0 && double.IsFinite(maxNorm))
        {
            gradientNorm = torch.nn.utils.clip_grad_norm_(Model.parameters(), maxNorm);
            if (!double.IsFinite(gradientNorm.Value))
            {
                throw Diverged(epoch, $"the gradient norm is {gradientNorm.Value.ToString(CultureInfo.InvariantCulture)}", State.BatchesIntoEpoch + group.Length - 1);
            }
        }

        foreach (ParamGroup paramGroup in _optimizer.ParamGroups)
        {
            paramGroup.LearningRate = learningRate;
        }

        _optimizer.step();
        State.GlobalStep++;
        for (int i = 0; i < group.Length; i++)
        {
            LanguageModelBatch batch = group[i];
            State.AddBatch(losses[i], batch.TargetTokenCount, batch.ByteCount);
            var result = new BatchResult(epoch, State.BatchesIntoEpoch - 1, State.BatchesPerEpoch, State.GlobalStep,
                batch.TargetTokenCount == 0 ? double.NaN : losses[i] / batch.TargetTokenCount, batch.TargetTokenCount, learningRate, i == group.Length - 1 ? gradientNorm : null);
            Raise(c => c.OnBatchEnd(Context, result));
        }
    }

    /// <summary>Ends a cancelled run: writes the resumable interrupt checkpoint (when there is an output directory) and says where to resume from.</summary>
    private TrainingResult Cancelled(string when)
    {
        string? path = WriteCheckpoint(CheckpointKind.Interrupted, State.Epoch);
        return Finish(TrainingOutcome.Cancelled, $"cancelled {when}" + (path is null ? string.Empty : $"; resume from {path}"));
    }

    /// <summary>The result, from the state: completed epochs, step, history, best, and the last checkpoint written.</summary>
    private TrainingResult Finish(TrainingOutcome outcome, string message) =>
        new(outcome, State.Epoch, State.GlobalStep, [.. State.History], State.BestValidationLoss, State.BestCheckpointPath, State.LastCheckpointPath, message);

    /// <summary>Writes a checkpoint under the output directory (none without one) and raises <see cref="ITrainerCallback.OnCheckpointSaved"/>.</summary>
    private string? WriteCheckpoint(CheckpointKind kind, int epoch)
    {
        if (Options.OutputDirectory is null)
        {
            return null;
        }

        string path = GetCheckpointPath(kind, epoch, State.GlobalStep);
        if (kind == CheckpointKind.Best)
        {
            State.BestCheckpointPath = path;
        }

        try
        {
            SaveCheckpoint(path, kind);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CheckpointNotWritten(path, ex);
        }

        State.LastCheckpointPath = path;
        _logger.LogDebug("Checkpoint written: {Path}", path);
        var info = new CheckpointInfo(path, kind, epoch, State.GlobalStep);
        Raise(c => c.OnCheckpointSaved(Context, info));
        return path;
    }

    /// <summary>
    /// The error for a checkpoint that could not be written (a full disk, most often): which one, that nothing written
    /// before is lost (every checkpoint is written to a temporary file and renamed, so the file at that path, the best
    /// checkpoint and the earlier ones are whole), and which checkpoint to resume from.
    /// </summary>
    private IOException CheckpointNotWritten(string path, Exception error)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string? best = State.BestCheckpointPath is string b && File.Exists(b) ? b : null;
        string? latest;
        try
        {
            latest = FindLatestCheckpoint(directory, Options.ModelName) ?? best;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            latest = best; // the folder cannot even be listed: the error being reported is the one that matters
        }

        string kept = best is null
            ? "no best checkpoint had been written yet; every checkpoint written before is intact"
            : $"the previous best, {best}, and every checkpoint written before are intact";
        string resume = latest is null
            ? "No checkpoint of this run has been written yet: free some space if the disk is full (or mend what the error names), then start the run again."
            : $"Free some space if the disk is full (or mend what the error names), then resume from {latest}"
                + (latest == best ? " (the only checkpoint left to resume from: the epochs after it are trained again)." : ".");
        return new IOException(
            $"The checkpoint {path} could not be written ({error.Message.TrimEnd('.')}). Nothing was lost: checkpoints are written to a temporary file and renamed, so {kept}. {resume}",
            error);
    }

    /// <summary>
    /// Takes the output directory for the run: proves it writable, locks it against a second run, deletes temporary
    /// files a killed run left there, and refuses to replace an earlier run's results unless resuming it or told to.
    /// </summary>
    private OutputDirectoryLock ClaimOutputDirectory(string directory)
    {
        OutputDirectory.EnsureWritable(directory);
        OutputDirectoryLock claim = OutputDirectoryLock.Acquire(directory, Options.ModelName);
        try
        {
            // With the lock held, no other run writes here: every temporary file left in it is a killed run's.
            int stale = AtomicFile.DeleteStale(claim.Directory, TimeSpan.Zero);
            if (stale > 0)
            {
                _logger.LogInformation("Deleted {Count} temporary file(s) that an interrupted run left in {Directory}.", stale, claim.Directory);
            }

            bool continuesHere = string.Equals(_continuesIn, claim.Directory, StringComparison.Ordinal);
            IReadOnlyList<string> earlier = continuesHere ? [] : FindEarlierResults(Options);
            if (earlier.Count > 0 && !Options.OverwriteOutput)
            {
                string? interrupted = FindLatestCheckpoint(claim.Directory, Options.ModelName);
                throw new IOException(
                    $"The output directory '{claim.Directory}' already holds results of a run named '{Options.ModelName}' ({string.Join(", ", earlier.Select(Path.GetFileName))}). "
                    + (interrupted is null ? string.Empty : $"To continue that run, call LoadCheckpoint(\"{interrupted}\") before training; ")
                    + "to replace it, set TrainerOptions.OverwriteOutput; or choose another TrainerOptions.OutputDirectory or ModelName.");
            }

            foreach (string file in earlier)
            {
                _logger.LogWarning("Overwriting the earlier run's results: deleting {File}.", file);
                File.Delete(file);
            }

            _continuesIn = claim.Directory;
            return claim;
        }
        catch
        {
            claim.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The checkpoints and reports that a run with these options' <see cref="TrainerOptions.ModelName"/> would write and
    /// that already exist under <see cref="TrainerOptions.OutputDirectory"/> (none without one). A fresh run refuses to
    /// start over them unless <see cref="TrainerOptions.OverwriteOutput"/> is set; programs can check it before preparing data.
    /// </summary>
    /// <param name="options">The run's options.</param>
    /// <returns>Full paths, sorted.</returns>
    public static IReadOnlyList<string> FindEarlierResults(TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OutputDirectory is null || !Directory.Exists(options.OutputDirectory))
        {
            return [];
        }

        string directory = Path.GetFullPath(options.OutputDirectory);
        string name = options.ModelName;
        string[] exact = [$"best_{name}.pt", $"{name}_final.pt", $"{name}_interrupted.pt", $"{name}_progress.json", $"{name}_metrics.csv", $"{name}_curves.png"];
        IEnumerable<string> numbered = Directory.EnumerateFiles(directory, $"{name}_epoch_*.pt").Concat(Directory.EnumerateFiles(directory, $"{name}_step_*.pt"));
        return [.. exact.Select(f => Path.Combine(directory, f)).Where(File.Exists).Concat(numbered).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The checkpoint in <paramref name="directory"/> from which a run continues furthest: of the checkpoints that can be
    /// read (those of run <paramref name="modelName"/> when given), the one with the most optimizer steps (the final one
    /// on a tie), or null. Best checkpoints (<c>best_*.pt</c>) are not considered: resuming from one would repeat the
    /// epochs after it.
    /// </summary>
    /// <param name="directory">The folder.</param>
    /// <param name="modelName">The run's name (<see cref="TrainerOptions.ModelName"/>), or null for any run.</param>
    public static string? FindLatestCheckpoint(string directory, string? modelName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            return null;
        }

        string? latest = null;
        long latestStep = -1;
        IEnumerable<string> candidates = Directory.EnumerateFiles(directory, modelName is null ? "*.pt" : $"{modelName}_*.pt")
            .Where(f => !Path.GetFileName(f).StartsWith("best_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .OrderBy(f => f.EndsWith("_final.pt", StringComparison.Ordinal) ? 0 : 1);
        foreach (string path in candidates)
        {
            long step;
            try
            {
                using TrainingCheckpoint checkpoint = TrainingCheckpoint.Read(path);
                step = checkpoint.Manifest.State.GlobalStep;
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                continue; // damaged: not one to resume from
            }

            if (step > latestStep)
            {
                (latest, latestStep) = (path, step);
            }
        }

        return latest;
    }

    private bool UpdateBest(int epoch, double loss)
    {
        if (State.BestValidationLoss is double best && loss >= best)
        {
            return false;
        }

        State.BestValidationLoss = loss;
        State.BestEpoch = epoch;
        return true;
    }

    private IEnumerable<LanguageModelBatch> EpochBatches(int epoch)
    {
        Random? random = Options.Shuffle ? new Random(EpochSeed(Options.Seed, epoch)) : null;
        return _trainData.GetBatches(Options.BatchSize, Options.Shuffle, random, Options.BucketByLength);
    }

    /// <summary>The seed of epoch <paramref name="epoch"/>'s batch order: a fixed mix of the run's seed and the epoch.</summary>
    internal static int EpochSeed(int seed, int epoch) => unchecked((seed * 1_000_003) ^ (epoch * 7_919) ^ 0x5F3759DF);

    private long TotalSteps()
    {
        long perEpoch = (State.BatchesPerEpoch + Options.GradientAccumulationSteps - 1) / Options.GradientAccumulationSteps;
        long total = perEpoch * Options.Epochs;
        return Options.MaxSteps is long limit ? Math.Min(limit, total) : total;
    }

    private TrainingDivergedException Diverged(int epoch, string what, int batchIndex)
    {
        long step = State.GlobalStep + 1;
        string last = State.LastCheckpointPath is null ? "no checkpoint had been written yet" : $"the last good checkpoint, {State.LastCheckpointPath}, is intact";
        return new TrainingDivergedException(
            $"Training diverged in epoch {epoch}, step {step} (batch {batchIndex + 1} of {State.BatchesPerEpoch}): {what}. Nothing was saved for this epoch; {last}. Try a lower learning rate or stronger gradient clipping.",
            epoch,
            step);
    }

    private void Raise(Action<ITrainerCallback> action)
    {
        foreach (ITrainerCallback callback in _callbacks)
        {
            action(callback);
        }
    }

    private void BeginRun()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("This trainer is already training: a second Train or TrainAsync call cannot run beside the first. Await the first, or use another Trainer with its own model.");
        }
    }

    private void ThrowIfRunning()
    {
        if (Volatile.Read(ref _running) == 1)
        {
            throw new InvalidOperationException("This trainer is training: callbacks and checkpoints cannot be changed or loaded until the run ends.");
        }
    }

    private static void CheckInputs(NewLlmModel model, TokenizedCorpus trainData, TokenizedCorpus? validationData, DialogueTokenizer? tokenizer, TokenizedPreferencePairs? pairs)
    {
        if (trainData.Count == 0)
        {
            throw new ArgumentException("The training corpus is empty.", nameof(trainData));
        }

        CheckFits(model, trainData, nameof(trainData));
        if (validationData is not null)
        {
            CheckFits(model, validationData, nameof(validationData));
            if (validationData.PadId != trainData.PadId)
            {
                throw new ArgumentException($"The validation corpus pads with id {validationData.PadId}, the training corpus with {trainData.PadId}: they come from different tokenizers.", nameof(validationData));
            }
        }

        if (pairs is not null && pairs.PadId != trainData.PadId)
        {
            throw new ArgumentException($"The preference pairs pad with id {pairs.PadId}, the training corpus with {trainData.PadId}: they come from different tokenizers.", "preferencePairs");
        }

        if (tokenizer is not null && tokenizer.Fingerprint != trainData.TokenizerFingerprint)
        {
            throw new ArgumentException("The tokenizer is not the one the training corpus was encoded with (fingerprints differ).", nameof(tokenizer));
        }
    }

    private static void CheckFits(NewLlmModel model, TokenizedCorpus corpus, string name)
    {
        if (corpus.VocabSize > model.Options.VocabSize)
        {
            throw new ArgumentException($"The corpus uses a vocabulary of {corpus.VocabSize} ids, but the model has VocabSize {model.Options.VocabSize}.", name);
        }

        if (corpus.SequenceLength < 2)
        {
            throw new ArgumentException($"The corpus sequence length is {corpus.SequenceLength}; at least 2 is needed (input ids[:-1], target ids[1:]).", name);
        }
    }
}
