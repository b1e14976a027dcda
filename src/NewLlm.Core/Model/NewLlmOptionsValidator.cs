using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>Validates <see cref="NewLlmOptions"/>; register it with <c>services.AddSingleton&lt;IValidateOptions&lt;NewLlmOptions&gt;, NewLlmOptionsValidator&gt;()</c>.</summary>
public sealed class NewLlmOptionsValidator : IValidateOptions<NewLlmOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, NewLlmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Positive(failures, nameof(NewLlmOptions.VocabSize), options.VocabSize);
        Positive(failures, nameof(NewLlmOptions.EmbedDim), options.EmbedDim);
        Positive(failures, nameof(NewLlmOptions.HiddenDim), options.HiddenDim);
        Positive(failures, nameof(NewLlmOptions.ContextDim), options.ContextDim);
        Positive(failures, nameof(NewLlmOptions.NumLayers), options.NumLayers);
        if (!(options.Dropout >= 0 && options.Dropout < 1))
        {
            failures.Add($"{nameof(NewLlmOptions.Dropout)} must be in [0, 1), but is {options.Dropout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Positive(List<string> failures, string option, int value)
    {
        if (value <= 0)
        {
            failures.Add($"{option} must be positive, but is {value}.");
        }
    }
}
