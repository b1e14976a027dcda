namespace NewLlm.Data;

/// <summary>A download attempt failed transiently and another follows after <see cref="Delay"/>.</summary>
/// <param name="FileName">The repository-relative file, for example <c>harmless-base/test.jsonl.gz</c>.</param>
/// <param name="Attempt">The 1-based number of the attempt about to be made.</param>
/// <param name="MaxAttempts">How many attempts are made at most (1 + <see cref="HuggingFaceHubOptions.MaxRetries"/>).</param>
/// <param name="Delay">The wait before the attempt.</param>
/// <param name="Reason">Why the previous attempt failed.</param>
public sealed record DownloadRetry(string FileName, int Attempt, int MaxAttempts, TimeSpan Delay, string Reason)
{
    /// <summary>One line: <c>retrying {file} in {delay} (attempt {n} of {max}): {reason}</c>, the delay in ms below one second, in s from it.</summary>
    /// <returns>The line.</returns>
    public override string ToString() =>
        $"retrying {FileName} in {FormatDelay(Delay)} (attempt {Attempt} of {MaxAttempts}): {Reason}";

    private static string FormatDelay(TimeSpan delay) => delay < TimeSpan.FromSeconds(1)
        ? string.Create(CultureInfo.InvariantCulture, $"{delay.TotalMilliseconds:0} ms")
        : string.Create(CultureInfo.InvariantCulture, $"{delay.TotalSeconds:0.#} s");
}
