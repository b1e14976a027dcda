using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Validates <see cref="DialogueCorpusOptions"/>.</summary>
public sealed class DialogueCorpusOptionsValidator : IValidateOptions<DialogueCorpusOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DialogueCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new OptionsFailures(nameof(DialogueCorpusOptions))
            .Check(options.MaxSequenceLength is >= 2 and <= 1 << 20, nameof(options.MaxSequenceLength), $"between 2 and {1 << 20}", options.MaxSequenceLength)
            .Check(options.VocabularySize > WordLevelTokenizer.SpecialTokenCount, nameof(options.VocabularySize), $"more than the {WordLevelTokenizer.SpecialTokenCount} special ids", options.VocabularySize)
            .Check(options.MaxSamples is null or >= 1, nameof(options.MaxSamples), "at least 1, or not set for all rows", options.MaxSamples)
            .Check(options.TestSize is > 0 and < 1, nameof(options.TestSize), "between 0 and 1 (exclusive)", options.TestSize)
            .Check(options.UnknownRateWarningMargin >= 0, nameof(options.UnknownRateWarningMargin), "0 or more", options.UnknownRateWarningMargin)
            .Check(options.MaxDegreeOfParallelism is -1 or > 0, nameof(options.MaxDegreeOfParallelism), "-1 (all processors) or positive", options.MaxDegreeOfParallelism)
            .Check(options.MaxRowBytes is >= 1024 and <= DialogueCorpusOptions.MaxRowBytesLimit, nameof(options.MaxRowBytes), $"between 1024 and {DialogueCorpusOptions.MaxRowBytesLimit} bytes", options.MaxRowBytes)
            .Result;
    }
}
