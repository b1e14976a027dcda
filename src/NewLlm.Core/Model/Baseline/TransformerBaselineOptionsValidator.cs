using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>Validates <see cref="TransformerBaselineOptions"/>; register it with <c>services.AddSingleton&lt;IValidateOptions&lt;TransformerBaselineOptions&gt;, TransformerBaselineOptionsValidator&gt;()</c>.</summary>
public sealed class TransformerBaselineOptionsValidator : IValidateOptions<TransformerBaselineOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TransformerBaselineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new OptionsFailures(nameof(TransformerBaselineOptions))
            .Check(options.VocabSize > 0, nameof(options.VocabSize), "positive", options.VocabSize)
            .Check(options.EmbedDim > 0, nameof(options.EmbedDim), "positive", options.EmbedDim)
            .Check(options.NumHeads > 0, nameof(options.NumHeads), "positive", options.NumHeads)
            .Check(options.NumHeads <= 0 || options.EmbedDim % options.NumHeads == 0, nameof(options.EmbedDim), $"a multiple of NumHeads ({options.NumHeads})", options.EmbedDim)
            .Check(options.HiddenDim > 0, nameof(options.HiddenDim), "positive", options.HiddenDim)
            .Check(options.NumLayers > 0, nameof(options.NumLayers), "positive", options.NumLayers)
            .Check(options.MaxSeqLength > 0, nameof(options.MaxSeqLength), "positive", options.MaxSeqLength)
            .Check(options.Dropout >= 0 && options.Dropout < 1, nameof(options.Dropout), "in [0, 1)", options.Dropout)
            .Result;
    }
}
