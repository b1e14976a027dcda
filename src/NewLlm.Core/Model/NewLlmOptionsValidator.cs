using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>Validates <see cref="NewLlmOptions"/>; register it with <c>services.AddSingleton&lt;IValidateOptions&lt;NewLlmOptions&gt;, NewLlmOptionsValidator&gt;()</c>.</summary>
public sealed class NewLlmOptionsValidator : IValidateOptions<NewLlmOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, NewLlmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new OptionsFailures(nameof(NewLlmOptions))
            .Check(options.VocabSize > 0, nameof(options.VocabSize), "positive", options.VocabSize)
            .Check(options.EmbedDim > 0, nameof(options.EmbedDim), "positive", options.EmbedDim)
            .Check(options.HiddenDim > 0, nameof(options.HiddenDim), "positive", options.HiddenDim)
            .Check(options.ContextDim > 0, nameof(options.ContextDim), "positive", options.ContextDim)
            .Check(options.NumLayers > 0, nameof(options.NumLayers), "positive", options.NumLayers)
            .Check(options.Dropout >= 0 && options.Dropout < 1, nameof(options.Dropout), "in [0, 1)", options.Dropout)
            .Result;
    }
}
