using System.Runtime.InteropServices;

namespace NewLlm.Cli;

/// <summary>What a termination signal means to a run that is stopping cleanly (see <see cref="StopRequests"/>).</summary>
internal enum SignalMeaning
{
    /// <summary>The first signal: finish the current step, write the interrupt checkpoint, exit.</summary>
    Stop,

    /// <summary>A signal soon after the first: the same request delivered again (GNU <c>timeout</c>, CI runners and
    /// service managers signal the process and its process group), so the run goes on stopping cleanly.</summary>
    SameRequest,

    /// <summary>A signal after <see cref="StopRequests.RepeatWindow"/>: a person asking again, so quit at once.</summary>
    QuitNow,
}

/// <summary>
/// Decides what each termination signal (SIGINT, SIGTERM) means. The first asks the run to stop after its current step;
/// any signal within <see cref="RepeatWindow"/> of it is the same request arriving twice, not a second request (GNU
/// <c>timeout</c> sends its signal to the child and then to the child's process group, microseconds apart); a signal
/// after the window quits at once. The time is given to <see cref="Decide"/>, so the rule is tested without a clock.
/// </summary>
/// <param name="repeatWindow">How long after the first signal a signal counts as the same request.</param>
internal sealed class StopRequests(TimeSpan repeatWindow)
{
    /// <summary>The window newllm uses: long enough for any repeat delivery, short enough for a person's second Ctrl-C.</summary>
    public static readonly TimeSpan DefaultRepeatWindow = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private TimeSpan? _first;

    /// <summary>How long after the first signal a signal counts as the same request.</summary>
    public TimeSpan RepeatWindow { get; } = repeatWindow;

    /// <summary>The signal that asked the run to stop, once one has.</summary>
    public PosixSignal? FirstSignal { get; private set; }

    /// <summary>What <paramref name="signal"/>, received at <paramref name="now"/> (any monotonic clock), means.</summary>
    /// <param name="signal">The signal received.</param>
    /// <param name="now">When it was received, on the clock of every other call.</param>
    public SignalMeaning Decide(PosixSignal signal, TimeSpan now)
    {
        lock (_gate)
        {
            if (_first is not TimeSpan first)
            {
                _first = now;
                FirstSignal = signal;
                return SignalMeaning.Stop;
            }

            return now - first <= RepeatWindow ? SignalMeaning.SameRequest : SignalMeaning.QuitNow;
        }
    }
}
