using Microsoft.Extensions.Options;

namespace NewLlm.Training;

/// <summary>Checks every <see cref="TrainerOptions"/> value; each failure names the option and the allowed range.</summary>
public sealed class TrainerOptionsValidator : IValidateOptions<TrainerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new OptionsFailures(nameof(TrainerOptions));
        void Check(bool ok, string option, object? value, string rule) => failures.Check(ok, option, rule, value);

        Check(!string.IsNullOrWhiteSpace(options.ModelName) && options.ModelName.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && options.ModelName.IndexOfAny(['/', '\\']) < 0,
            nameof(options.ModelName), options.ModelName, "a non-empty file name");
        Check(options.Epochs >= 1, nameof(options.Epochs), options.Epochs, "at least 1");
        Check(options.BatchSize >= 1, nameof(options.BatchSize), options.BatchSize, "at least 1");
        Check(double.IsFinite(options.LearningRate) && options.LearningRate > 0 && options.LearningRate <= 10, nameof(options.LearningRate), options.LearningRate, "in (0, 10]");
        Check(Enum.IsDefined(options.Optimizer), nameof(options.Optimizer), options.Optimizer, "Adam or AdamW");
        Check(double.IsFinite(options.WeightDecay) && options.WeightDecay >= 0 && options.WeightDecay < 1, nameof(options.WeightDecay), options.WeightDecay, "in [0, 1)");
        Check(options.Beta1 >= 0 && options.Beta1 < 1, nameof(options.Beta1), options.Beta1, "in [0, 1)");
        Check(options.Beta2 >= 0 && options.Beta2 < 1, nameof(options.Beta2), options.Beta2, "in [0, 1)");
        Check(options.Epsilon > 0 && options.Epsilon < 1, nameof(options.Epsilon), options.Epsilon, "in (0, 1)");
        Check(options.EarlyStoppingPatience >= 0, nameof(options.EarlyStoppingPatience), options.EarlyStoppingPatience, "0 (off) or more");
        Check(double.IsFinite(options.EarlyStoppingMinDelta) && options.EarlyStoppingMinDelta >= 0, nameof(options.EarlyStoppingMinDelta), options.EarlyStoppingMinDelta, "0 or more");
        Check(options.GradientClipSchedule is not null, nameof(options.GradientClipSchedule), null, "a schedule (GradientClipSchedule.None turns clipping off)");
        Check(options.LearningRateSchedule is not null, nameof(options.LearningRateSchedule), null, "a schedule (ConstantLearningRateSchedule for none)");
        Check(options.ValidateEveryEpochs >= 1, nameof(options.ValidateEveryEpochs), options.ValidateEveryEpochs, "at least 1");
        Check(Enum.IsDefined(options.Precision), nameof(options.Precision), options.Precision, "Float32 or BFloat16Mixed");
        Check(options.GradientAccumulationSteps >= 1, nameof(options.GradientAccumulationSteps), options.GradientAccumulationSteps, "at least 1");
        Check(options.MaxSteps is null || options.MaxSteps >= 1, nameof(options.MaxSteps), options.MaxSteps, "null (no limit) or at least 1");
        Check(options.CheckpointEveryEpochs >= 0, nameof(options.CheckpointEveryEpochs), options.CheckpointEveryEpochs, "0 (off) or more");
        Check(options.CheckpointEverySteps >= 0, nameof(options.CheckpointEverySteps), options.CheckpointEverySteps, "0 (off) or more");
        Check(DeviceName.TryParse(options.Device, out _, out _), nameof(options.Device), options.Device, "'cpu', 'cuda' or 'cuda:N'");
        return failures.Result;
    }
}
