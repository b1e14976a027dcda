using System.Runtime.InteropServices;

namespace NewLlm.Cli;

/// <summary>What a termination signal means to a run that is stopping cleanly (see <see cref="StopRequests"/>).</summary>
internal enum SignalMeaning
{
    /// <summary>The first signal: finish the current step, write the interrupt checkpoint, exit.</summary>
    Stop,

    /// <summary>A signal within the repeat window of the first: the same request delivered again.</summary>
    SameRequest,

    /// <summary>A signal after the window: a person asking again, so quit at once.</summary>
    QuitNow,
}

/// <summary>
/// Decides what each termination signal (SIGINT, SIGTERM) means: the first asks the run to stop after its current step;
/// any signal within <paramref name="repeatWindow"/> of it is the same request arriving twice (GNU <c>timeout</c>, CI
/// runners and service managers signal the child and then its process group, microseconds apart); a later one quits at
/// once. The time is given to <see cref="Decide"/>, so the rule is tested without a clock.
/// </summary>
internal sealed class StopRequests(TimeSpan repeatWindow)
{
    /// <summary>Long enough for any repeat delivery, short enough for a person's second Ctrl-C.</summary>
    public static readonly TimeSpan DefaultRepeatWindow = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private TimeSpan _first;

    /// <summary>The signal that asked the run to stop, once one has: it decides the exit code.</summary>
    public PosixSignal? FirstSignal { get; private set; }

    /// <summary>What <paramref name="signal"/>, received at <paramref name="now"/> (on any monotonic clock), means.</summary>
    public SignalMeaning Decide(PosixSignal signal, TimeSpan now)
    {
        lock (_gate)
        {
            if (FirstSignal is null)
            {
                (_first, FirstSignal) = (now, signal);
                return SignalMeaning.Stop;
            }

            return now - _first <= repeatWindow ? SignalMeaning.SameRequest : SignalMeaning.QuitNow;
        }
    }
}
