using Microsoft.Extensions.Options;

namespace NewLlm.Training;

/// <summary>Checks every <see cref="CurriculumOptions"/> value; each failure names the option and the allowed values.</summary>
public sealed class CurriculumOptionsValidator : IValidateOptions<CurriculumOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CurriculumOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new OptionsFailures(nameof(CurriculumOptions));
        failures.Check(!string.IsNullOrWhiteSpace(options.OutputDirectory), nameof(options.OutputDirectory), "a folder", options.OutputDirectory);
        failures.Check(options.Tokenizer is "word" or "gpt2", nameof(options.Tokenizer), "'word' or 'gpt2'", options.Tokenizer);
        failures.Check(Enum.IsDefined(options.Vocabulary), nameof(options.Vocabulary), "Keep or Rebuild", options.Vocabulary);
        failures.Check(Enum.IsDefined(options.Expansion), nameof(options.Expansion), "Replicate or Original", options.Expansion);
        failures.Check(options.OnNotCleared is null || Enum.IsDefined(options.OnNotCleared.Value), nameof(options.OnNotCleared), "null, Stop or Warn", options.OnNotCleared);
        failures.Check(options.BatchSize >= 1, nameof(options.BatchSize), "at least 1", options.BatchSize);
        failures.Check(double.IsFinite(options.LearningRate) && options.LearningRate > 0 && options.LearningRate <= 10, nameof(options.LearningRate), "in (0, 10]", options.LearningRate);
        failures.Check(Enum.IsDefined(options.Precision), nameof(options.Precision), "Float32 or BFloat16Mixed", options.Precision);
        failures.Check(options.Epochs is null or >= 1, nameof(options.Epochs), "null (the recipe's) or at least 1", options.Epochs);
        failures.Check(options.MaxSamples is null or >= 1, nameof(options.MaxSamples), "null (the recipe's) or at least 1", options.MaxSamples);
        foreach ((string level, string path) in options.DataDirectories)
        {
            failures.Check(!string.IsNullOrWhiteSpace(path), $"{nameof(options.DataDirectories)}[{level}]", "a folder or file", path);
        }

        return failures.Result;
    }
}
