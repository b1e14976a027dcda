using Microsoft.Extensions.Options;

namespace NewLlm.Training;

/// <summary>
/// Configuration of a <see cref="Trainer"/>. The defaults are the original New-LLM training script's: Adam, learning
/// rate 0.0008, batch size 2048, 100 epochs, no weight decay, early stopping after 20 epochs without an improvement of
/// at least 0.001 in validation loss, gradient clipping 0.5 / 1.0 / 2.0, validation after every epoch.
/// Validated by <see cref="TrainerOptionsValidator"/>; <see cref="Validate"/> throws an <see cref="OptionsValidationException"/>
/// naming each bad option.
/// </summary>
public sealed class TrainerOptions
{
    private SortedDictionary<string, JsonNode?> _runConfiguration = new(StringComparer.Ordinal);

    /// <summary>Name of the run; checkpoint and report files are named after it (default "new_llm").</summary>
    public string ModelName { get; set; } = "new_llm";

    /// <summary>Total number of epochs, counted from the start of the run (a resumed run trains the remaining ones). Default 100.</summary>
    public int Epochs { get; set; } = 100;

    /// <summary>Sequences per batch (default 2048).</summary>
    public int BatchSize { get; set; } = 2048;

    /// <summary>Peak learning rate (default 0.0008).</summary>
    public double LearningRate { get; set; } = 0.0008;

    /// <summary>The optimizer (default <see cref="OptimizerKind.Adam"/>).</summary>
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Adam;

    /// <summary>Weight decay (default 0).</summary>
    public double WeightDecay { get; set; }

    /// <summary>Adam's beta1 (default 0.9).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Adam's beta2 (default 0.999).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Adam's epsilon (default 1e-8).</summary>
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>Epochs without improvement before training stops; 0 turns early stopping off (default 20). Configures the built-in <see cref="EarlyStopping"/> callback.</summary>
    public int EarlyStoppingPatience { get; set; } = 20;

    /// <summary>The decrease in validation loss that counts as an improvement (default 0.001), for the built-in <see cref="EarlyStopping"/>.</summary>
    public double EarlyStoppingMinDelta { get; set; } = 0.001;

    /// <summary>Gradient-norm clipping per epoch (default: the original's 0.5 / 1.0 / 2.0 schedule).</summary>
    public IGradientClipSchedule GradientClipSchedule { get; set; } = OriginalGradientClipSchedule.Instance;

    /// <summary>Learning rate per step (default: constant, as in the original).</summary>
    public ILearningRateSchedule LearningRateSchedule { get; set; } = ConstantLearningRateSchedule.Instance;

    /// <summary>Validate every this many epochs; the last epoch is always validated (default 1).</summary>
    public int ValidateEveryEpochs { get; set; } = 1;

    /// <summary>Seed of every random choice (weight dropout and batch shuffling); with it, CPU runs are reproducible (default 42).</summary>
    public int Seed { get; set; } = 42;

    /// <summary>"cpu", "cuda" or "cuda:N" (default "cpu").</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>
    /// The arithmetic of the training steps (default <see cref="TrainingPrecision.Float32"/>), set as the model's
    /// <see cref="LanguageModel.ComputeDType"/> while the trainer lives; validation runs in the parameters' dtype.
    /// <see cref="TrainingPrecision.BFloat16Mixed"/> is refused on a CPU without native bfloat16 products
    /// (<c>avx512_bf16</c>, <c>amx_bf16</c>) unless <see cref="AllowSlowBFloat16"/> is set.
    /// </summary>
    public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;

    /// <summary>
    /// Let <see cref="TrainingPrecision.BFloat16Mixed"/> run on a CPU without native bfloat16 products, emulated many times
    /// slower than float32, for checking numerics (default false: such a run is refused, naming the missing feature).
    /// </summary>
    public bool AllowSlowBFloat16 { get; set; }

    /// <summary>Batches whose gradients are summed before one optimizer step (default 1).</summary>
    public int GradientAccumulationSteps { get; set; } = 1;

    /// <summary>Stop after this many optimizer steps in all (null: no limit).</summary>
    public long? MaxSteps { get; set; }

    /// <summary>Shuffle the training batches every epoch (default true).</summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>Group dialogues of similar length into batches, so short batches skip padding (default false, as in the original).</summary>
    public bool BucketByLength { get; set; }

    /// <summary>Where checkpoints and reports go; null writes no files.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Write <c>{name}_epoch_{n}.pt</c> every this many epochs; 0 turns it off (default 5). Configures the built-in <see cref="ModelCheckpoint"/> callback.</summary>
    public int CheckpointEveryEpochs { get; set; } = 5;

    /// <summary>
    /// Write <c>{name}_step_{n}.pt</c> every this many optimizer steps, mid-epoch, keeping only the newest; 0 turns it off
    /// (default 0). For long epochs, so that a crash loses at most this many steps. Configures the built-in <see cref="ModelCheckpoint"/>.
    /// </summary>
    public long CheckpointEverySteps { get; set; }

    /// <summary>
    /// Let a fresh run (one that did not <see cref="Trainer.LoadCheckpoint"/>) start where an earlier run left files under
    /// the same <see cref="ModelName"/>, deleting them (default false: such a run is refused, so no result is lost by accident).
    /// </summary>
    public bool OverwriteOutput { get; set; }

    /// <summary>Write <c>best_{name}.pt</c> whenever validation loss improves (default true), through the built-in <see cref="ModelCheckpoint"/>.</summary>
    public bool SaveBestCheckpoint { get; set; } = true;

    /// <summary>Write <c>{name}_final.pt</c> when training ends (default true), through the built-in <see cref="ModelCheckpoint"/>.</summary>
    public bool SaveFinalCheckpoint { get; set; } = true;

    /// <summary>
    /// Write <c>{name}_progress.json</c> and <c>{name}_metrics.csv</c> after every epoch (default true). The PNG curves come
    /// from <c>TrainingCurvesPlotter</c>, a callback of the optional package NewLlm.Training.Plots.
    /// </summary>
    public bool WriteReports { get; set; } = true;

    /// <summary>
    /// Extra entries recorded in the progress file's <c>config</c> and in checkpoints (e.g. the data subset), as JSON
    /// values, so that numbers stay numbers: <c>RunConfiguration["max_seq_length"] = 128</c> writes <c>128</c>,
    /// <c>RunConfiguration["subset"] = "harmless"</c> a string (both convert implicitly to <see cref="JsonNode"/>).
    /// </summary>
    public IDictionary<string, JsonNode?> RunConfiguration => _runConfiguration;

    /// <summary>Returns a shallow copy (schedules are shared, <see cref="RunConfiguration"/> and its values are copied).</summary>
    public TrainerOptions Clone()
    {
        var copy = (TrainerOptions)MemberwiseClone();
        copy._runConfiguration = new(_runConfiguration.ToDictionary(p => p.Key, p => p.Value?.DeepClone()), StringComparer.Ordinal);
        return copy;
    }

    /// <summary>
    /// The options as JSON, with the original's snake_case names and the schedules as descriptions, followed by
    /// <see cref="RunConfiguration"/>: what checkpoints store and the progress file's <c>config</c> starts with.
    /// </summary>
    public JsonObject Describe()
    {
        var json = new JsonObject
        {
            ["model_name"] = ModelName,
            ["epochs"] = Epochs,
            ["batch_size"] = BatchSize,
            ["learning_rate"] = LearningRate,
            ["optimizer"] = Optimizer.ToString(),
            ["weight_decay"] = WeightDecay,
            ["beta1"] = Beta1,
            ["beta2"] = Beta2,
            ["epsilon"] = Epsilon,
            ["early_stopping_patience"] = EarlyStoppingPatience,
            ["early_stopping_min_delta"] = EarlyStoppingMinDelta,
            ["gradient_clip"] = GradientClipSchedule.Describe(),
            ["learning_rate_schedule"] = LearningRateSchedule.Describe(),
            ["validate_every_epochs"] = ValidateEveryEpochs,
            ["seed"] = Seed,
            ["device"] = Device,
            ["precision"] = Precision.ToString(),
            ["gradient_accumulation_steps"] = GradientAccumulationSteps,
            ["max_steps"] = MaxSteps,
            ["shuffle"] = Shuffle,
            ["bucket_by_length"] = BucketByLength,
            ["checkpoint_every_epochs"] = CheckpointEveryEpochs,
            ["checkpoint_every_steps"] = CheckpointEverySteps,
        };
        foreach ((string key, JsonNode? value) in _runConfiguration)
        {
            json[key] = value?.DeepClone();
        }

        return json;
    }

    /// <summary>Epoch <paramref name="epoch"/>'s batches, shuffled (when asked) by a fixed mix of the run's seed and the epoch.</summary>
    internal IEnumerable<LanguageModelBatch> EpochBatches(TokenizedCorpus corpus, int epoch)
    {
        Random? random = Shuffle ? new Random(unchecked((Seed * 1_000_003) ^ (epoch * 7_919) ^ 0x5F3759DF)) : null;
        return corpus.GetBatches(BatchSize, Shuffle, random, BucketByLength);
    }

    /// <summary>The optimizer steps of the run: every epoch's (a partial group of batches is a step), at most <see cref="MaxSteps"/>.</summary>
    internal long TotalSteps(int batchesPerEpoch)
    {
        long total = (long)((batchesPerEpoch + GradientAccumulationSteps - 1) / GradientAccumulationSteps) * Epochs;
        return MaxSteps is long limit ? Math.Min(limit, total) : total;
    }

    /// <summary>Throws an <see cref="OptionsValidationException"/> naming every bad option; returns this instance otherwise.</summary>
    public TrainerOptions Validate() => OptionsFailures.ThrowIfInvalid(this, new TrainerOptionsValidator());
}
