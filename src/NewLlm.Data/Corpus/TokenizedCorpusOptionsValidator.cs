using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Validates <see cref="TokenizedCorpusOptions"/>.</summary>
public sealed class TokenizedCorpusOptionsValidator : IValidateOptions<TokenizedCorpusOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TokenizedCorpusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxSequenceLength is < 2 or > 1 << 20)
        {
            failures.Add($"{nameof(TokenizedCorpusOptions.MaxSequenceLength)} must be between 2 and {1 << 20}; got {options.MaxSequenceLength}.");
        }

        if (options.MaxDegreeOfParallelism is 0 or < -1)
        {
            failures.Add($"{nameof(TokenizedCorpusOptions.MaxDegreeOfParallelism)} must be -1 (all processors) or positive; got {options.MaxDegreeOfParallelism}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
