namespace NewLlm.Training;

/// <summary>
/// The original script's console report, line for line:
/// <code>
/// Epoch 50/100
///   Training... 20% 40% 60% 80% 100% | 0.2min | Loss: 2.8500
///   Val: Loss=2.82 PPL=16.8 Acc=45.1% (batch mean: Loss=2.81 PPL=16.6) ✓
///   [Checkpoint saved]
/// </code>
/// (✓ when validation loss is the best so far and the best checkpoint was written; <c>[Checkpoint saved]</c> on periodic
/// saves), after a header (configuration, device, dataset sizes, parameters) and ending with <c>Training completed! Best
/// Val Loss: ...</c>. <c>Loss</c>, <c>PPL</c> and <c>Acc</c> are token-weighted; <c>(batch mean: ...)</c> is the figure the
/// original printed in their place; with preference pairs, <c> Pref=38.5% (per token: 36.8%)</c> comes before the ✓.
/// Perplexities from a million on are written <c>2.7e+347</c>; an epoch <see cref="DivergenceMonitor.Check"/> finds
/// diverging is followed by a <c>  Warning: ...</c> line.
/// </summary>
/// <param name="writer">Where to write; <see cref="Console.Out"/> when null.</param>
public sealed class ConsoleReporter(TextWriter? writer = null) : ITrainerCallback
{
    private static readonly System.Text.Json.JsonSerializerOptions ReadableJsonText = new() { Encoder = ReadableJson.Encoder };
    private readonly TextWriter _writer = writer ?? Console.Out;
    private readonly TrainingProgressReporter _progress = new();
    private int _nextMark;
    private bool _trainingLineOpen;
    private int _transientLength;

    /// <summary>
    /// Whether a live batch counter (<c>[12/33] loss 4.7121, 15,300 tok/s, 0:00:41 left</c>), erased again, follows the
    /// training line between the 20% marks; on by default for an interactive console, off when the output is redirected
    /// or another writer is given.
    /// </summary>
    public bool ShowBatchProgress { get; set; } = writer is null && !Console.IsOutputRedirected;

    /// <inheritdoc />
    public void OnTrainBegin(TrainerContext context)
    {
        TrainerOptions o = context.Options;
        string rule = new('=', 70);
        Line(rule);
        Line($"{(context.Model is TransformerBaselineModel ? "Transformer baseline" : "New-LLM")} training: {o.ModelName}");
        Line(rule);
        Line(context.Model switch
        {
            NewLlmModel { Options: var m } => $"Model: {m.NumLayers} layer(s), vocab {m.VocabSize}, embed {m.EmbedDim}, hidden {m.HiddenDim}, context {m.ContextDim}, dropout {F(m.Dropout)}",
            TransformerBaselineModel { Options: var b } => $"Model: Transformer baseline, {b.NumLayers} layer(s), {b.NumHeads} heads, vocab {b.VocabSize}, embed {b.EmbedDim}, hidden {b.HiddenDim}, {b.MaxSeqLength} positions, dropout {F(b.Dropout)}",
            LanguageModel other => $"Model: {other.ModelType}, {other.OptionsDescription}",
        });
        Line($"Parameters: {context.Model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)}");
        Line($"Training: {o.Epochs} epoch{(o.Epochs == 1 ? string.Empty : "s")}, batch size {o.BatchSize}, learning rate {F(o.LearningRate)} ({o.LearningRateSchedule.Describe()}), {o.Optimizer}, weight decay {F(o.WeightDecay)}"
            + (o.Precision == TrainingPrecision.BFloat16Mixed ? ", bf16 mixed precision (products in bfloat16, float32 weights; validation in float32)" : ", float32"));
        Line($"Gradient clipping: {o.GradientClipSchedule.Describe()}; early stopping: " + (o.EarlyStoppingPatience > 0 ? $"patience {o.EarlyStoppingPatience}, min delta {F(o.EarlyStoppingMinDelta)}" : "off"));
        foreach ((string key, System.Text.Json.Nodes.JsonNode? value) in o.RunConfiguration)
        {
            Line($"{key}: {(value is System.Text.Json.Nodes.JsonValue json && json.TryGetValue(out string? text) ? text : value?.ToJsonString(ReadableJsonText) ?? "null")}");
        }

        Line($"Device: {o.Device}");
        if (o.Device == "cpu")
        {
            Line($"CPU threads: {TorchSharp.torch.get_num_threads()}");
        }

        Line($"Dataset: {context.State.TrainSequenceCount.ToString("N0", CultureInfo.InvariantCulture)} train / " +
             (context.State.ValidationSequenceCount is int v ? v.ToString("N0", CultureInfo.InvariantCulture) : "no") + $" validation sequences, {context.State.BatchesPerEpoch} batches per epoch");
        if (context.State.StartEpoch > 1)
        {
            string when = context.State.StartEpoch > o.Epochs ? $"Resumed after epoch {context.State.CompletedEpochs} of {o.Epochs}" : $"Resuming at epoch {context.State.StartEpoch}";
            Line($"{when} (step {context.State.GlobalStep}, best val loss {(context.State.BestValidationLoss is double b ? F4(b) : "n/a")})");
        }

        Line(rule);
    }

    /// <inheritdoc />
    public void OnEpochBegin(TrainerContext context)
    {
        Line(string.Empty);
        Line($"Epoch {context.State.Epoch}/{context.Options.Epochs}");
        _progress.OnEpochBegin(context);
        _writer.Write("  Training...");
        _writer.Flush();
        _trainingLineOpen = true;
        _nextMark = 20;
        while (context.State.BatchesPerEpoch > 0 && _nextMark <= 100 && context.State.BatchesIntoEpoch * 100 >= _nextMark * context.State.BatchesPerEpoch)
        {
            _nextMark += 20;
        }
    }

    /// <inheritdoc />
    public void OnBatchEnd(TrainerContext context, BatchResult batch)
    {
        int done = batch.BatchIndex + 1;
        _progress.OnBatchEnd(context, batch);
        EraseTransient();
        while (_nextMark <= 100 && done * 100 >= _nextMark * batch.BatchCount)
        {
            _writer.Write($" {_nextMark}%");
            _nextMark += 20;
        }

        if (ShowBatchProgress && _trainingLineOpen && done < batch.BatchCount)
        {
            string counter = $" [{done}/{batch.BatchCount}] {_progress.Latest!.Pace}";
            _writer.Write(counter);
            _transientLength = counter.Length;
        }

        _writer.Flush();
    }

    // Removes the live batch counter: back over it, blank it, back again.
    private void EraseTransient()
    {
        if (_transientLength == 0)
        {
            return;
        }

        _writer.Write(new string('\b', _transientLength) + new string(' ', _transientLength) + new string('\b', _transientLength));
        _transientLength = 0;
    }

    /// <inheritdoc />
    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) =>
        CloseTrainingLine(context.State.History[^1].TrainSeconds, context.State.History[^1].TrainLoss);

    /// <inheritdoc />
    public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint)
    {
        if (checkpoint.Kind is CheckpointKind.Periodic or CheckpointKind.Requested)
        {
            Line("  [Checkpoint saved]");
        }
        else if (checkpoint.Kind == CheckpointKind.Interrupted)
        {
            CloseTrainingLine(null, null);
            Line($"  [Interrupted: checkpoint saved to {checkpoint.Path}]");
        }
    }

    /// <inheritdoc />
    public void OnEpochEnd(TrainerContext context, EpochRecord record)
    {
        CloseTrainingLine(record.TrainSeconds, record.TrainLoss);
        if (record.Validation is EvaluationMetrics v)
        {
            // The trainer writes the best checkpoint (when it writes one) before this event, or fails the run.
            string mark = record.IsBest ? " ✓" : string.Empty;
            Line($"  Val: Loss={v.Loss.ToString("F2", CultureInfo.InvariantCulture)} PPL={Perplexity.Format(v.Loss)} Acc={Percent(v.Accuracy)}%{BatchMean(v)}{Preference(v)}{mark}");
        }

        if (DivergenceMonitor.Check(context.State.History, context.Model.VocabSize) is string warning)
        {
            Line($"  Warning: {warning[(warning.IndexOf(": ", StringComparison.Ordinal) + 2)..]}");
        }
    }

    /// <inheritdoc />
    public void OnTrainEnd(TrainerContext context, TrainingResult result)
    {
        CloseTrainingLine(null, null);
        Line(string.Empty);
        if (result.Outcome == TrainingOutcome.Cancelled)
        {
            Line($"Training interrupted: {result.Message}");
            return;
        }

        if (result.Outcome == TrainingOutcome.NothingToTrain)
        {
            Line($"Nothing to train: {result.Message["nothing to train: ".Length..]}.");
            return;
        }

        if (result.Outcome != TrainingOutcome.Completed)
        {
            Line($"Stopped: {result.Message}");
        }

        Line($"Training completed! Best Val Loss: {(result.BestValidationLoss is double best ? F4(best) + $" (PPL {Perplexity.Format(best)}, epoch {context.State.BestEpoch})" : "n/a")}");
        if (result.BestCheckpointPath is not null)
        {
            Line($"Best checkpoint: {result.BestCheckpointPath}");
        }

        if (result.LastCheckpointPath is not null && result.LastCheckpointPath != result.BestCheckpointPath)
        {
            Line($"Last checkpoint: {result.LastCheckpointPath} (resume from it to train further)");
        }
    }

    /// <inheritdoc />
    public void OnException(TrainerContext context, Exception exception) => CloseTrainingLine(null, null);

    private void CloseTrainingLine(double? seconds, double? loss)
    {
        if (!_trainingLineOpen)
        {
            return;
        }

        _trainingLineOpen = false;
        EraseTransient();
        if (seconds is double s && loss is double l)
        {
            _writer.WriteLine($" | {(s / 60).ToString("F1", CultureInfo.InvariantCulture)}min | Loss: {l.ToString("F4", CultureInfo.InvariantCulture)}");
        }
        else
        {
            _writer.WriteLine();
        }

        _writer.Flush();
    }

    private void Line(string text)
    {
        _writer.WriteLine(text);
        _writer.Flush();
    }

    // The original trainer's figures (mean of the batches' mean losses), labelled, after the token-weighted ones.
    private static string BatchMean(EvaluationMetrics v) => double.IsNaN(v.BatchMeanLoss)
        ? string.Empty
        : $" (batch mean: Loss={v.BatchMeanLoss.ToString("F2", CultureInfo.InvariantCulture)} PPL={Perplexity.Format(v.BatchMeanLoss)})";

    // Summed log-likelihoods first (Pref=), then the length-normalised form.
    private static string Preference(EvaluationMetrics v) =>
        (v.PreferenceAccuracy is double p ? $" Pref={Percent(p)}%" : string.Empty)
        + (v.PerTokenPreferenceAccuracy is double t ? $" (per token: {Percent(t)}%)" : string.Empty);

    private static string Percent(double share) => (share * 100).ToString("F1", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("G", CultureInfo.InvariantCulture);

    private static string F4(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
}
