using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Validates <see cref="HuggingFaceHubOptions"/>.</summary>
public sealed class HuggingFaceHubOptionsValidator : IValidateOptions<HuggingFaceHubOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, HuggingFaceHubOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint) ||
            (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add($"{nameof(HuggingFaceHubOptions.Endpoint)} must be an absolute http(s) URL; got '{options.Endpoint}'.");
        }

        if (string.IsNullOrWhiteSpace(options.Revision) || options.Revision.Contains("..", StringComparison.Ordinal) ||
            options.Revision.IndexOfAny(['\\', '?', '#', ' ']) >= 0)
        {
            failures.Add($"{nameof(HuggingFaceHubOptions.Revision)} must be a branch, tag or commit name; got '{options.Revision}'.");
        }

        if (string.IsNullOrWhiteSpace(options.CacheDirectory))
        {
            failures.Add($"{nameof(HuggingFaceHubOptions.CacheDirectory)} must not be empty.");
        }

        if (options.MaxRetries is < 0 or > 100)
        {
            failures.Add($"{nameof(HuggingFaceHubOptions.MaxRetries)} must be between 0 and 100; got {options.MaxRetries}.");
        }

        if (options.InitialRetryDelay < TimeSpan.Zero || options.InitialRetryDelay > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{nameof(HuggingFaceHubOptions.InitialRetryDelay)} must be between 0 and 10 minutes; got {options.InitialRetryDelay}.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(HuggingFaceHubOptions.RequestTimeout)} must be positive; got {options.RequestTimeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
