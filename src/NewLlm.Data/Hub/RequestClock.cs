namespace NewLlm.Data;

/// <summary>
/// The two limits of one Hub request: a deadline for the whole request (<see cref="HuggingFaceHubOptions.RequestTimeout"/>)
/// and a read timeout (<see cref="HuggingFaceHubOptions.ReadTimeout"/>) that <see cref="Touch"/> restarts whenever the
/// server sends something. The caller's cancellation stays an <see cref="OperationCanceledException"/>; a limit becomes a
/// <see cref="TimeoutException"/> (<see cref="Describe"/>).
/// </summary>
internal sealed class RequestClock : IDisposable
{
    private readonly CancellationToken _caller;
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _idle;
    private readonly TimeSpan _readTimeout;
    private readonly TimeSpan _requestTimeout;

    public RequestClock(HuggingFaceHubOptions options, CancellationToken caller)
    {
        _caller = caller;
        _readTimeout = options.ReadTimeout;
        _requestTimeout = options.RequestTimeout;
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(caller);
        _deadline.CancelAfter(_requestTimeout);
        _idle = CancellationTokenSource.CreateLinkedTokenSource(_deadline.Token);
        _idle.CancelAfter(_readTimeout);
    }

    /// <summary>For waits on the server (the answer, each read of the body): the read timeout, the deadline and the caller.</summary>
    public CancellationToken Token => _idle.Token;

    /// <summary>For local work within the request (writing the file): the deadline and the caller.</summary>
    public CancellationToken Deadline => _deadline.Token;

    /// <summary>Whether a limit (not the caller) ended the request.</summary>
    public bool TimedOut => !_caller.IsCancellationRequested && _idle.IsCancellationRequested;

    /// <summary>The server sent something: the read timeout starts again.</summary>
    public void Touch() => _idle.CancelAfter(_readTimeout);

    /// <summary>The error for a request that a limit ended: which limit, how long, and what to do.</summary>
    public TimeoutException Describe(string what, Exception inner) => _deadline.IsCancellationRequested
        ? new TimeoutException(
            $"{what} timed out: it did not finish within {Seconds(_requestTimeout)} (HuggingFaceHubOptions.RequestTimeout). Nothing was cached; "
            + "for a large file on a slow link, raise HuggingFaceHubOptions.RequestTimeout.",
            inner)
        : new TimeoutException(
            $"{what} timed out: the server sent nothing for {Seconds(_readTimeout)} (HuggingFaceHubOptions.ReadTimeout), so the connection is taken for stalled. "
            + "Nothing was cached; check the network and HuggingFaceHubOptions.Endpoint (HF_ENDPOINT) and try again, or raise HuggingFaceHubOptions.ReadTimeout for a server that pauses longer.",
            inner);

    /// <inheritdoc />
    public void Dispose()
    {
        _idle.Dispose();
        _deadline.Dispose();
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
