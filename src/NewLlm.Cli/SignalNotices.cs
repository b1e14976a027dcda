namespace NewLlm.Cli;

/// <summary>
/// What <see cref="TerminationSignals"/> prints as each termination signal arrives, in words of the command's own work:
/// <c>{0}</c> is the signal's name, <c>{1}</c> the repeat window in seconds, <c>{2}</c> a line break. A null notice prints nothing, for a command
/// that says itself how it stopped.
/// </summary>
/// <param name="Stop">After the first signal: what stopping means.</param>
/// <param name="SameRequest">After a repeat delivery of it.</param>
/// <param name="QuitNow">After a later signal, which ends the process at once.</param>
internal sealed record SignalNotices(string? Stop, string? SameRequest, string QuitNow)
{
    /// <summary>A run that trains: the first signal finishes a step and saves a checkpoint.</summary>
    public static SignalNotices Training { get; } = new(
        "{2}[{0}: stopping (a training step is finished and a checkpoint saved); send it again after {1} s to quit at once]",
        "[{0} again within {1} s: taken as the same request; still stopping]",
        "[{0} again: quitting at once, without a checkpoint]");

    /// <summary>A chat: the first signal ends it (the chat prints that), a repeat delivery changes nothing.</summary>
    public static SignalNotices Chat { get; } = new(null, null, "[{0} again: quitting at once]");
}
