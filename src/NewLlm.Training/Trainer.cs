using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NewLlm.Data;
using NewLlm.Training.Callbacks;
using NewLlm.Training.Checkpoints;
using NewLlm.Training.Metrics;
using NewLlm.Training.Reporting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Training;

/// <summary>
/// Trains a <see cref="NewLlmModel"/> on a tokenized corpus as the original New-LLM script did (next-token cross-entropy,
/// PAD ignored, shuffled batches, Adam, gradient-norm clipping, validation every epoch, early stopping, periodic and best
/// checkpoints), with token-weighted metrics, callbacks, and checkpoints that resume exactly.
/// </summary>
/// <example>
/// <code>
/// var trainer = new Trainer(model, train, validation, new TrainerOptions { Epochs = 6, BatchSize = 64, OutputDirectory = "out" },
///     tokenizer, new ITrainerCallback[] { new ConsoleReporter() });
/// TrainingResult result = await trainer.TrainAsync(cancellationToken);
/// </code>
/// </example>
public sealed class Trainer : IDisposable
{
    private readonly TokenizedCorpus trainData;
    private readonly TokenizedCorpus? validationData;
    private readonly DialogueTokenizer? tokenizer;
    private readonly ILogger logger;
    private readonly Device device;
    private readonly OptimizerHelper optimizer;
    private readonly List<ITrainerCallback> callbacks;
    private readonly Dictionary<string, JsonNode?> pendingCallbackStates = new(StringComparer.Ordinal);
    private readonly MetricAccumulator epochSums = new();
    private double? earlyStoppingReference;
    private int batchesIntoEpoch;
    private double partialSeconds;
    private bool resumed;
    private bool disposed;

    /// <summary>Creates a trainer. The model is moved to the options' device; nothing is trained until <see cref="TrainAsync"/>.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="trainData">The training corpus.</param>
    /// <param name="validationData">The validation corpus; without it there is no validation, best checkpoint or early stopping.</param>
    /// <param name="options">The options; validated (a copy is kept).</param>
    /// <param name="tokenizer">The tokenizer of the corpora, stored in checkpoints (and checked on resume); optional.</param>
    /// <param name="callbacks">Callbacks, called in order. Report writers for the output directory are added automatically (see <see cref="TrainerOptions.WriteReports"/>).</param>
    /// <param name="logger">Diagnostics; none when null.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range.</exception>
    /// <exception cref="ArgumentException">The corpora do not fit the model (vocabulary) or each other.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for and is not available.</exception>
    public Trainer(
        NewLlmModel model,
        TokenizedCorpus trainData,
        TokenizedCorpus? validationData,
        TrainerOptions options,
        DialogueTokenizer? tokenizer = null,
        IEnumerable<ITrainerCallback>? callbacks = null,
        ILogger<Trainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Clone().Validate();
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

        if (tokenizer is not null && tokenizer.Fingerprint != trainData.TokenizerFingerprint)
        {
            throw new ArgumentException("The tokenizer is not the one the training corpus was encoded with (fingerprints differ).", nameof(tokenizer));
        }

        this.trainData = trainData;
        this.validationData = validationData;
        this.tokenizer = tokenizer;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
        device = DeviceName.Resolve(Options.Device);
        Model = model;
        model.to(device);
        optimizer = CreateOptimizer(model, Options);
        this.callbacks = new List<ITrainerCallback>(callbacks ?? Array.Empty<ITrainerCallback>());
        if (Options.OutputDirectory is not null && Options.WriteReports)
        {
            this.callbacks.Add(new ProgressJsonWriter());
            this.callbacks.Add(new MetricsCsvWriter());
            this.callbacks.Add(new TrainingCurvesPlotter());
        }

        Context = new TrainerContext(Options, model, Options.Device, trainData.Count, validationData?.Count)
        {
            BatchesPerEpoch = (trainData.Count + Options.BatchSize - 1) / Options.BatchSize,
        };
    }

    /// <summary>The validated options (a copy of those given).</summary>
    public TrainerOptions Options { get; }

    /// <summary>The model being trained.</summary>
    public NewLlmModel Model { get; }

    /// <summary>The state callbacks see; readable at any time.</summary>
    public TrainerContext Context { get; }

    /// <summary>The callbacks, in call order (the automatic report writers last).</summary>
    public IReadOnlyList<ITrainerCallback> Callbacks => callbacks;

    /// <summary>Chosen/rejected pairs for <see cref="EvaluationMetrics.PreferenceAccuracy"/> at each validation; null skips it.</summary>
    public TokenizedPreferencePairs? PreferencePairs { get; set; }

    /// <summary>Path of a checkpoint file for this run's name, e.g. <c>best_{name}.pt</c>, under the output directory.</summary>
    /// <param name="kind">Which checkpoint.</param>
    /// <param name="epoch">The epoch, for periodic checkpoints.</param>
    public string GetCheckpointPath(CheckpointKind kind, int epoch = 0)
    {
        string name = Options.ModelName;
        return ReportFiles.Under(Options, kind switch
        {
            CheckpointKind.Best => $"best_{name}.pt",
            CheckpointKind.Final => $"{name}_final.pt",
            CheckpointKind.Interrupted => $"{name}_interrupted.pt",
            _ => string.Create(CultureInfo.InvariantCulture, $"{name}_epoch_{epoch}.pt"),
        });
    }

    /// <summary>
    /// Restores everything from a checkpoint so that <see cref="TrainAsync"/> continues exactly where it was saved: weights,
    /// optimizer state, trainer state and history, callback states, random generator state.
    /// <see cref="TrainerOptions.Epochs"/> stays the total: a run saved after epoch 2 and resumed with 4 epochs trains epochs 3 and 4.
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is truncated or corrupted, holds another model shape, or was trained with another tokenizer.</exception>
    public void LoadCheckpoint(string path)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckpointContents contents = CheckpointFile.Read(path);
        CheckpointManifest manifest = contents.Manifest;
        if (tokenizer is not null && manifest.TokenizerFingerprint is not null && manifest.TokenizerFingerprint != tokenizer.Fingerprint)
        {
            throw new InvalidDataException(
                $"{path}: the checkpoint was trained with another tokenizer ({manifest.TokenizerKind}, fingerprint {Short(manifest.TokenizerFingerprint)}) than this run's ({tokenizer.Kind}, fingerprint {Short(tokenizer.Fingerprint)}). Resume with the checkpoint's tokenizer (CheckpointFile.LoadTokenizer).");
        }

        // Check the optimizer and RNG state before touching the model, so a bad file changes nothing.
        CheckpointFile.LoadWeights(Model, contents, path);
        try
        {
            using (var stream = new MemoryStream(contents.Entries[CheckpointFile.OptimizerEntry], writable: false))
            using (var reader = new BinaryReader(stream))
            {
                optimizer.load_state_dict(reader);
            }

            optimizer.to(device);
            byte[] rng = contents.Entries[CheckpointFile.RngEntry];
            using Tensor state = torch.tensor(rng, dtype: ScalarType.Byte);
            torch.random.set_rng_state(state);
        }
        catch (Exception ex) when (ex is not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: the optimizer or random state cannot be restored: {ex.Message}", ex);
        }

        TrainerStateSnapshot s = manifest.State;
        Context.Epoch = s.CompletedEpochs;
        Context.GlobalStep = s.GlobalStep;
        Context.BestValidationLoss = s.BestValidationLoss;
        Context.BestEpoch = s.BestEpoch;
        Context.BestCheckpointPath = s.BestCheckpointPath;
        Context.EpochsWithoutImprovement = s.EpochsWithoutImprovement;
        Context.StoppedEarly = false;
        Context.ClearStop();
        Context.ReplaceHistory(s.History);
        earlyStoppingReference = s.EarlyStoppingReference;
        batchesIntoEpoch = s.BatchesIntoEpoch;
        partialSeconds = s.PartialSeconds;
        epochSums.Restore(s.PartialNll, 0, s.PartialTokens, s.PartialBytes);
        pendingCallbackStates.Clear();
        foreach ((string key, JsonNode? value) in manifest.CallbackStates)
        {
            pendingCallbackStates[key] = value;
        }

        if (s.Seed != Options.Seed)
        {
            logger.LogWarning("The checkpoint was trained with seed {Saved}; this run's seed {Seed} is used for the batch order from now on.", s.Seed, Options.Seed);
        }

        resumed = true;
        logger.LogInformation("Resumed from {Path}: {Epochs} epoch(s) completed, step {Step}.", path, s.CompletedEpochs, s.GlobalStep);
    }

    /// <summary>Writes a checkpoint of the current state to any path (the trainer writes its own under the output directory).</summary>
    /// <param name="path">The file to write (replaced whole, never torn).</param>
    /// <param name="kind">The kind recorded in the manifest.</param>
    public void SaveCheckpoint(string path, CheckpointKind kind = CheckpointKind.Requested)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        entries[CheckpointFile.ModelEntry] = ToBytes(writer => Model.save(writer));
        entries[CheckpointFile.OptimizerEntry] = ToBytes(writer => optimizer.save_state_dict(writer));

        using (Tensor rng = torch.random.get_rng_state())
        {
            entries[CheckpointFile.RngEntry] = rng.data<byte>().ToArray();
        }

        if (tokenizer is not null)
        {
            using var stream = new MemoryStream();
            tokenizer.Save(stream);
            entries[CheckpointFile.TokenizerEntry] = stream.ToArray();
        }

        var manifest = new CheckpointManifest
        {
            CreatedUtc = DateTimeOffset.UtcNow,
            Kind = kind,
            ModelName = Options.ModelName,
            ModelOptions = Model.Options.Clone(),
            TrainerOptions = DescribeOptions(Options),
            State = Snapshot(),
            TokenizerKind = tokenizer?.Kind,
            TokenizerFingerprint = tokenizer?.Fingerprint,
        };
        foreach (ICheckpointStateful stateful in callbacks.OfType<ICheckpointStateful>())
        {
            manifest.CallbackStates[stateful.StateKey] = stateful.SaveState();
        }

        CheckpointFile.Write(path, manifest, entries);
    }

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Epochs"/> epochs are complete, early stopping or a callback stops it, the step
    /// limit is reached, or <paramref name="cancellationToken"/> fires (then it stops after the current optimizer step and
    /// writes <c>{name}_interrupted.pt</c>, from which <see cref="LoadCheckpoint"/> resumes exactly).
    /// </summary>
    /// <param name="cancellationToken">Stops training cleanly.</param>
    /// <returns>How the run ended, with the history.</returns>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite (no checkpoint is written for the failing epoch).</exception>
    /// <exception cref="IOException">The output directory cannot be written.</exception>
    public Task<TrainingResult> TrainAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return Task.Run(() => Train(cancellationToken), CancellationToken.None);
    }

    /// <summary>Token-weighted metrics of the current model on a corpus.</summary>
    /// <param name="corpus">The corpus.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public Task<EvaluationMetrics> EvaluateAsync(TokenizedCorpus corpus, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        return Task.Run(() => Evaluator.Evaluate(Model, corpus, Options.BatchSize, PreferencePairs, cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            optimizer.Dispose();
        }
    }

    private TrainingResult Train(CancellationToken cancellationToken)
    {
        PrepareOutputDirectory();
        if (!resumed)
        {
            torch.random.manual_seed(Options.Seed);
        }

        foreach (ICheckpointStateful stateful in callbacks.OfType<ICheckpointStateful>())
        {
            if (pendingCallbackStates.TryGetValue(stateful.StateKey, out JsonNode? state) && state is not null)
            {
                stateful.LoadState(state.DeepClone());
            }
        }

        Context.StartEpoch = Context.Epoch + 1;
        try
        {
            Raise(c => c.OnTrainBegin(Context));
            TrainingResult result = RunEpochs(cancellationToken);
            Raise(c => c.OnTrainEnd(Context, result));
            return result;
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Training failed: {Message}", ex.Message);
            foreach (ITrainerCallback callback in callbacks)
            {
                try
                {
                    callback.OnException(Context, ex);
                }
                catch (Exception inner)
                {
                    logger.LogError(inner, "A callback failed while handling an exception.");
                }
            }

            throw;
        }
    }

    private TrainingResult RunEpochs(CancellationToken cancellationToken)
    {
        long totalSteps = TotalSteps();
        TrainingOutcome outcome = TrainingOutcome.Completed;
        string message = "all epochs trained";
        if (Context.Epoch >= Options.Epochs)
        {
            message = $"nothing to do: {Context.Epoch} of {Options.Epochs} epochs are already complete";
        }

        while (Context.Epoch < Options.Epochs)
        {
            int epoch = Context.Epoch + 1;
            Context.Epoch = epoch;
            Context.BatchIndex = batchesIntoEpoch;
            Context.EpochTrainLoss = null;
            Context.EpochTrainSeconds = null;
            Raise(c => c.OnEpochBegin(Context));
            var watch = Stopwatch.StartNew();
            bool cancelled = false;
            bool stepLimit = false;
            double learningRate = optimizer.ParamGroups.First().LearningRate;
            double maxNorm = Options.GradientClipSchedule.GetMaxNorm(epoch);
            Model.train();
            using (IEnumerator<LanguageModelBatch> batches = EpochBatches(epoch).Skip(batchesIntoEpoch).GetEnumerator())
            {
                var group = new List<LanguageModelBatch>(Options.GradientAccumulationSteps);
                bool more = batches.MoveNext();
                while (more)
                {
                    group.Clear();
                    while (more && group.Count < Options.GradientAccumulationSteps)
                    {
                        group.Add(batches.Current);
                        more = batches.MoveNext();
                    }

                    learningRate = Options.LearningRateSchedule.GetLearningRate(Options.LearningRate, Context.GlobalStep, totalSteps);
                    TrainStep(group, epoch, learningRate, maxNorm);
                    if (Options.MaxSteps is long limit && Context.GlobalStep >= limit)
                    {
                        stepLimit = true;
                        break;
                    }

                    if (cancellationToken.IsCancellationRequested && more)
                    {
                        cancelled = true;
                        break;
                    }
                }
            }

            double trainSeconds = partialSeconds + watch.Elapsed.TotalSeconds;
            if (cancelled)
            {
                partialSeconds = trainSeconds;
                Context.Epoch = epoch - 1;
                return Cancelled($"in epoch {epoch} after step {Context.GlobalStep}");
            }

            double trainLoss = epochSums.MeanLoss;
            Context.EpochTrainLoss = trainLoss;
            Context.EpochTrainSeconds = trainSeconds;
            EvaluationMetrics? metrics = null;
            bool isBest = false;
            bool validate = validationData is not null && (epoch % Options.ValidateEveryEpochs == 0 || epoch == Options.Epochs || stepLimit);
            if (validate)
            {
                metrics = Evaluator.Evaluate(Model, validationData!, Options.BatchSize, PreferencePairs, CancellationToken.None);
                isBest = UpdateBest(epoch, metrics.Loss);
                Raise(c => c.OnEvaluationEnd(Context, metrics));
            }

            var record = new EpochRecord(epoch, Context.GlobalStep, learningRate, trainLoss, metrics, isBest, trainSeconds, partialSeconds + watch.Elapsed.TotalSeconds);
            Context.AddRecord(record);
            batchesIntoEpoch = 0;
            partialSeconds = 0;
            epochSums.Restore(0, 0, 0, 0);
            Context.BatchIndex = 0;
            logger.LogDebug("Epoch {Epoch}: train loss {TrainLoss:F4}, validation loss {ValLoss:F4}.", epoch, trainLoss, metrics?.Loss);

            if (isBest && Options.SaveBestCheckpoint && Options.OutputDirectory is not null)
            {
                Context.BestCheckpointPath = GetCheckpointPath(CheckpointKind.Best);
                WriteCheckpoint(CheckpointKind.Best, epoch);
            }

            if (Options.EarlyStoppingPatience > 0 && Context.EpochsWithoutImprovement >= Options.EarlyStoppingPatience)
            {
                Context.StoppedEarly = true;
                Context.RequestStop($"early stopping: no improvement of validation loss by {Options.EarlyStoppingMinDelta} for {Options.EarlyStoppingPatience} epochs");
            }

            Raise(c => c.OnEpochEnd(Context, record));

            bool periodic = Options.CheckpointEveryEpochs > 0 && epoch % Options.CheckpointEveryEpochs == 0;
            if ((periodic || Context.CheckpointRequested) && Options.OutputDirectory is not null)
            {
                WriteCheckpoint(periodic ? CheckpointKind.Periodic : CheckpointKind.Requested, epoch);
            }

            Context.CheckpointRequested = false;
            if (stepLimit)
            {
                outcome = TrainingOutcome.StepLimitReached;
                message = $"step limit of {Options.MaxSteps} reached in epoch {epoch}";
                break;
            }

            if (Context.StopRequested)
            {
                outcome = Context.StoppedEarly ? TrainingOutcome.StoppedEarly : TrainingOutcome.StopRequested;
                message = Context.StopReason!;
                break;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return Cancelled($"after epoch {epoch}");
            }
        }

        if (Options.SaveFinalCheckpoint && Options.OutputDirectory is not null)
        {
            WriteCheckpoint(CheckpointKind.Final, Context.Epoch);
        }

        return Finish(outcome, message);
    }

    /// <summary>Ends a cancelled run: writes the resumable interrupt checkpoint (when there is an output directory) and says where to resume from.</summary>
    private TrainingResult Cancelled(string when)
    {
        string? path = Options.OutputDirectory is null ? null : WriteCheckpoint(CheckpointKind.Interrupted, Context.Epoch);
        return Finish(TrainingOutcome.Cancelled, $"cancelled {when}" + (path is null ? string.Empty : $"; resume from {path}"));
    }

    /// <summary>The result, from the context: completed epochs, step, history, best, and the last checkpoint written.</summary>
    private TrainingResult Finish(TrainingOutcome outcome, string message) =>
        new(outcome, Context.Epoch, Context.GlobalStep, Context.History.ToArray(), Context.BestValidationLoss, Context.BestCheckpointPath, Context.LastCheckpointPath, message);

    private void TrainStep(List<LanguageModelBatch> group, int epoch, double learningRate, double maxNorm)
    {
        long groupTokens = group.Sum(b => (long)b.TargetTokenCount);
        optimizer.zero_grad();
        int firstIndex = batchesIntoEpoch;
        var losses = new (double Nll, long Tokens)[group.Count];
        for (int i = 0; i < group.Count; i++)
        {
            LanguageModelBatch batch = group[i];
            using var scope = NewDisposeScope();
            (Tensor inputs, Tensor targets) = Evaluator.ToTensors(batch, device);
            Tensor logits = Model.call(inputs);
            Tensor nll = F.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1), ignore_index: trainData.PadId, reduction: nn.Reduction.Sum);
            double batchNll = nll.item<float>();
            if (!double.IsFinite(batchNll))
            {
                throw Diverged(epoch, $"the loss is {batchNll.ToString(CultureInfo.InvariantCulture)}", firstIndex + i);
            }

            if (groupTokens > 0)
            {
                nll.div(groupTokens).backward();
            }

            losses[i] = (batchNll, batch.TargetTokenCount);
        }

        double? gradientNorm = null;
        if (maxNorm > 0 && double.IsFinite(maxNorm))
        {
            gradientNorm = torch.nn.utils.clip_grad_norm_(Model.parameters(), maxNorm);
            if (!double.IsFinite(gradientNorm.Value))
            {
                throw Diverged(epoch, $"the gradient norm is {gradientNorm.Value.ToString(CultureInfo.InvariantCulture)}", firstIndex + group.Count - 1);
            }
        }

        foreach (ParamGroup paramGroup in optimizer.ParamGroups)
        {
            paramGroup.LearningRate = learningRate;
        }

        optimizer.step();
        Context.GlobalStep++;
        for (int i = 0; i < group.Count; i++)
        {
            LanguageModelBatch batch = group[i];
            epochSums.Add(losses[i].Nll, 0, losses[i].Tokens, batch.ByteCount);
            batchesIntoEpoch++;
            Context.BatchIndex = batchesIntoEpoch - 1;
            var result = new BatchResult(epoch, batchesIntoEpoch - 1, Context.BatchesPerEpoch, Context.GlobalStep,
                losses[i].Tokens == 0 ? double.NaN : losses[i].Nll / losses[i].Tokens, losses[i].Tokens, learningRate, i == group.Count - 1 ? gradientNorm : null);
            Raise(c => c.OnBatchEnd(Context, result));
        }
    }

    private TrainingDivergedException Diverged(int epoch, string what, int batchIndex)
    {
        long step = Context.GlobalStep + 1;
        string last = Context.LastCheckpointPath is null ? "no checkpoint had been written yet" : $"the last good checkpoint, {Context.LastCheckpointPath}, is intact";
        return new TrainingDivergedException(
            $"Training diverged in epoch {epoch}, step {step} (batch {batchIndex + 1} of {Context.BatchesPerEpoch}): {what}. Nothing was saved for this epoch; {last}. Try a lower learning rate or stronger gradient clipping.",
            epoch,
            step);
    }

    private bool UpdateBest(int epoch, double loss)
    {
        bool isBest = Context.BestValidationLoss is not double best || loss < best;
        if (isBest)
        {
            Context.BestValidationLoss = loss;
            Context.BestEpoch = epoch;
        }

        if (earlyStoppingReference is not double reference || loss < reference - Options.EarlyStoppingMinDelta)
        {
            earlyStoppingReference = loss;
            Context.EpochsWithoutImprovement = 0;
        }
        else
        {
            Context.EpochsWithoutImprovement++;
        }

        return isBest;
    }

    private IEnumerable<LanguageModelBatch> EpochBatches(int epoch)
    {
        Random? random = Options.Shuffle ? new Random(EpochSeed(Options.Seed, epoch)) : null;
        return trainData.GetBatches(Options.BatchSize, Options.Shuffle, random, Options.BucketByLength);
    }

    /// <summary>The seed of epoch <paramref name="epoch"/>'s batch order: a fixed mix of the run's seed and the epoch.</summary>
    internal static int EpochSeed(int seed, int epoch) => unchecked((seed * 1_000_003) ^ (epoch * 7_919) ^ 0x5F3759DF);

    private long TotalSteps()
    {
        long perEpoch = (Context.BatchesPerEpoch + Options.GradientAccumulationSteps - 1) / Options.GradientAccumulationSteps;
        long total = perEpoch * Options.Epochs;
        return Options.MaxSteps is long limit ? Math.Min(limit, total) : total;
    }

    private string WriteCheckpoint(CheckpointKind kind, int epoch)
    {
        string path = GetCheckpointPath(kind, epoch);
        SaveCheckpoint(path, kind);
        Context.LastCheckpointPath = path;
        var info = new CheckpointInfo(path, kind, epoch, Context.GlobalStep);
        logger.LogDebug("Checkpoint written: {Path}", path);
        Raise(c => c.OnCheckpointSaved(Context, info));
        return path;
    }

    private TrainerStateSnapshot Snapshot() => new()
    {
        CompletedEpochs = Context.History.Count == 0 ? 0 : Context.History[^1].Epoch,
        BatchesIntoEpoch = batchesIntoEpoch,
        GlobalStep = Context.GlobalStep,
        Seed = Options.Seed,
        BestValidationLoss = Context.BestValidationLoss,
        BestEpoch = Context.BestEpoch,
        EarlyStoppingReference = earlyStoppingReference,
        EpochsWithoutImprovement = Context.EpochsWithoutImprovement,
        StoppedEarly = Context.StoppedEarly,
        BestCheckpointPath = Context.BestCheckpointPath,
        PartialNll = epochSums.TotalNll,
        PartialTokens = epochSums.Tokens,
        PartialBytes = epochSums.Bytes,
        PartialSeconds = partialSeconds,
        History = Context.History.ToList(),
    };

    private void PrepareOutputDirectory()
    {
        if (Options.OutputDirectory is null)
        {
            return;
        }

        string directory = Path.GetFullPath(Options.OutputDirectory);
        string probe = Path.Combine(directory, $".write-test-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllBytes(probe, new byte[] { 1 });
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"The output directory '{directory}' cannot be written: {ex.Message}", ex);
        }
    }

    private void Raise(Action<ITrainerCallback> action)
    {
        foreach (ITrainerCallback callback in callbacks)
        {
            action(callback);
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

    private static OptimizerHelper CreateOptimizer(NewLlmModel model, TrainerOptions o) => o.Optimizer switch
    {
        OptimizerKind.AdamW => torch.optim.AdamW(model.parameters(), o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay),
        _ => torch.optim.Adam(model.parameters(), o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, o.WeightDecay),
    };

    private static string Short(string fingerprint) => fingerprint.Length > 12 ? fingerprint[..12] : fingerprint;

    internal static JsonObject DescribeOptions(TrainerOptions o)
    {
        var json = new JsonObject
        {
            ["model_name"] = o.ModelName,
            ["epochs"] = o.Epochs,
            ["batch_size"] = o.BatchSize,
            ["learning_rate"] = o.LearningRate,
            ["optimizer"] = o.Optimizer.ToString(),
            ["weight_decay"] = o.WeightDecay,
            ["beta1"] = o.Beta1,
            ["beta2"] = o.Beta2,
            ["epsilon"] = o.Epsilon,
            ["early_stopping_patience"] = o.EarlyStoppingPatience,
            ["early_stopping_min_delta"] = o.EarlyStoppingMinDelta,
            ["gradient_clip"] = o.GradientClipSchedule.Describe(),
            ["learning_rate_schedule"] = o.LearningRateSchedule.Describe(),
            ["validate_every_epochs"] = o.ValidateEveryEpochs,
            ["seed"] = o.Seed,
            ["device"] = o.Device,
            ["gradient_accumulation_steps"] = o.GradientAccumulationSteps,
            ["max_steps"] = o.MaxSteps,
            ["shuffle"] = o.Shuffle,
            ["bucket_by_length"] = o.BucketByLength,
            ["checkpoint_every_epochs"] = o.CheckpointEveryEpochs,
        };
        foreach ((string key, string value) in o.RunConfiguration)
        {
            json[key] = value;
        }

        return json;
    }

    /// <summary>What <paramref name="write"/> writes through a <see cref="BinaryWriter"/>, as bytes.</summary>
    private static byte[] ToBytes(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }

        return stream.ToArray();
    }
}
