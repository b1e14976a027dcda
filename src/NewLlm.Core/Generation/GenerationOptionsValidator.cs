using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>Validates <see cref="GenerationOptions"/>.</summary>
public sealed class GenerationOptionsValidator : IValidateOptions<GenerationOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxNewTokens < 0)
        {
            failures.Add($"{nameof(GenerationOptions.MaxNewTokens)} must not be negative, but is {options.MaxNewTokens}.");
        }

        if (!(options.Temperature > 0) || double.IsInfinity(options.Temperature))
        {
            failures.Add($"{nameof(GenerationOptions.Temperature)} must be a positive finite number, but is {options.Temperature}.");
        }

        if (options.TopK < 0)
        {
            failures.Add($"{nameof(GenerationOptions.TopK)} must not be negative (0 turns it off), but is {options.TopK}.");
        }

        if (!(options.TopP > 0 && options.TopP <= 1))
        {
            failures.Add($"{nameof(GenerationOptions.TopP)} must be in (0, 1], but is {options.TopP}.");
        }

        if (options.StopSequences.Any(s => s is null || s.Length == 0))
        {
            failures.Add($"{nameof(GenerationOptions.StopSequences)} must not contain an empty sequence.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
