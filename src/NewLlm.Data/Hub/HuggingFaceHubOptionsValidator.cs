using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Validates <see cref="HuggingFaceHubOptions"/>.</summary>
public sealed class HuggingFaceHubOptionsValidator : IValidateOptions<HuggingFaceHubOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, HuggingFaceHubOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool endpointOk = Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint)
            && (endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps);
        bool revisionOk = !string.IsNullOrWhiteSpace(options.Revision) && !options.Revision.Contains("..", StringComparison.Ordinal)
            && options.Revision.IndexOfAny(['\\', '?', '#', ' ']) < 0;
        return new OptionsFailures(nameof(HuggingFaceHubOptions))
            .Check(endpointOk, nameof(options.Endpoint), "an absolute http(s) URL", options.Endpoint)
            .Check(revisionOk, nameof(options.Revision), "a branch, tag or commit name", options.Revision)
            .Check(!string.IsNullOrWhiteSpace(options.CacheDirectory), nameof(options.CacheDirectory), "a directory", options.CacheDirectory)
            .Check(options.MaxRetries is >= 0 and <= 100, nameof(options.MaxRetries), "between 0 and 100", options.MaxRetries)
            .Check(options.InitialRetryDelay >= TimeSpan.Zero && options.InitialRetryDelay <= TimeSpan.FromMinutes(10), nameof(options.InitialRetryDelay), "between 0 and 10 minutes", options.InitialRetryDelay)
            .Check(options.RequestTimeout > TimeSpan.Zero, nameof(options.RequestTimeout), "positive", options.RequestTimeout)
            .Check(options.ReadTimeout > TimeSpan.Zero && options.ReadTimeout <= TimeSpan.FromDays(1), nameof(options.ReadTimeout), "positive and at most 1 day", options.ReadTimeout)
            .Result;
    }
}
