using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>Validates <see cref="GenerationOptions"/>.</summary>
public sealed class GenerationOptionsValidator : IValidateOptions<GenerationOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new OptionsFailures(nameof(GenerationOptions))
            .Check(options.MaxNewTokens >= 0, nameof(options.MaxNewTokens), "0 or more", options.MaxNewTokens)
            .Check(options.Temperature > 0 && !double.IsInfinity(options.Temperature), nameof(options.Temperature), "a positive finite number", options.Temperature)
            .Check(options.TopK >= 0, nameof(options.TopK), "0 (off) or more", options.TopK)
            .Check(options.TopP > 0 && options.TopP <= 1, nameof(options.TopP), "in (0, 1]", options.TopP)
            .Check(!options.StopSequences.Any(s => s is null || s.Length == 0), nameof(options.StopSequences), "free of empty sequences", "a list with an empty sequence")
            .Check(options.EndOfSequenceId is null or >= 0, nameof(options.EndOfSequenceId), "null or 0 or more", options.EndOfSequenceId)
            .Check(!options.StopStrings.Any(string.IsNullOrEmpty), nameof(options.StopStrings), "free of null and empty strings", "a list with a null or empty string")
            .Result;
    }
}
