using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Validates <see cref="TokenizedCorpusOptions"/>.</summary>
public sealed class TokenizedCorpusOptionsValidator : IValidateOptions<TokenizedCorpusOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TokenizedCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new OptionsFailures(nameof(TokenizedCorpusOptions))
            .Check(options.MaxSequenceLength is >= 2 and <= 1 << 20, nameof(options.MaxSequenceLength), $"between 2 and {1 << 20}", options.MaxSequenceLength)
            .Check(options.MaxDegreeOfParallelism is -1 or > 0, nameof(options.MaxDegreeOfParallelism), "-1 (all processors) or positive", options.MaxDegreeOfParallelism)
            .Result;
    }
}
