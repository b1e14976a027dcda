using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NewLlm.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a cancellation, as <see cref="StopRequests"/> decides: the first signal cancels
/// <see cref="Token"/>, so the trainer finishes its current step and writes its interrupt checkpoint (a chat ends); a
/// repeat delivery changes nothing; a later signal ends the process at once. Each is announced in the command's words
/// (<see cref="SignalNotices"/>). Without this, the runtime ends the process on the first signal and the partial epoch is
/// lost (System.CommandLine 2.0 registers no handler unless told to, and its handler has no "second signal" behaviour).
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly StopRequests _requests = new(StopRequests.DefaultRepeatWindow);
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly SignalNotices _notices;
    private readonly PosixSignalRegistration[] _registrations;

    /// <summary>Starts receiving SIGINT and SIGTERM.</summary>
    /// <param name="notices">What each signal is announced as.</param>
    public TerminationSignals(SignalNotices notices)
    {
        _notices = notices;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The exit code for a run a signal stopped: 128 + the first signal's number, as a shell reports it (130 for SIGINT, 143 for SIGTERM).</summary>
    public int ExitCode => _requests.FirstSignal == PosixSignal.SIGTERM ? 143 : 130;

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }

        _source.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        SignalMeaning meaning = _requests.Decide(context.Signal, Stopwatch.GetElapsedTime(_started));
        int window = (int)StopRequests.DefaultRepeatWindow.TotalSeconds;

        // Not cancelled (a quit), the signal's default action ends the process now (exit status 128 + signal): no managed
        // shutdown that could wait for, or crash in, the native step still running on the training thread.
        context.Cancel = meaning != SignalMeaning.QuitNow;
        string? notice = meaning switch
        {
            SignalMeaning.Stop => _notices.Stop,
            SignalMeaning.SameRequest => _notices.SameRequest,
            _ => _notices.QuitNow,
        };
        if (notice is not null)
        {
            Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, notice, context.Signal, window, Environment.NewLine));
        }

        if (meaning == SignalMeaning.Stop)
        {
            _source.Cancel(); // the run stops itself at the next safe point
        }
    }
}
