using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NewLlm.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as a cancellation: the first signal cancels <see cref="Token"/>, so the trainer finishes
/// its current step and writes its interrupt checkpoint; a signal within <see cref="StopRequests.DefaultRepeatWindow"/>
/// of it is the same request delivered twice (GNU <c>timeout</c> and CI runners signal the process and its process
/// group) and changes nothing; a signal after that ends the process at once. Without this, the runtime ends the process
/// on the first signal and the partial epoch is lost (System.CommandLine 2.0 registers no handler unless told to, and
/// its handler has no "second signal" behaviour).
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration[] _registrations;
    private readonly StopRequests _requests = new(StopRequests.DefaultRepeatWindow);
    private readonly long _started = Stopwatch.GetTimestamp();

    public TerminationSignals()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>The exit code for a run the first signal stopped: 128 + the signal's number, as a shell reports it (130 for SIGINT, 143 for SIGTERM).</summary>
    public int ExitCode { get; private set; } = 130;

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
        if (meaning == SignalMeaning.Stop)
        {
            context.Cancel = true; // keep running: the run stops itself at the next safe point
            ExitCode = context.Signal == PosixSignal.SIGTERM ? 143 : 130;
            Console.Error.WriteLine();
            Console.Error.WriteLine($"[{context.Signal}: stopping (a training step is finished and a checkpoint saved); send it again after {(int)_requests.RepeatWindow.TotalSeconds} s to quit at once]");
            _source.Cancel();
        }
        else if (meaning == SignalMeaning.SameRequest)
        {
            // timeout(1) and CI runners signal the process and then its process group: the same request, delivered twice.
            context.Cancel = true;
            Console.Error.WriteLine($"[{context.Signal} again within {(int)_requests.RepeatWindow.TotalSeconds} s: taken as the same request; still stopping]");
        }
        else
        {
            // The signal's default action ends the process now (exit status 128 + signal): no managed shutdown that
            // could wait for, or crash in, the native step still running on the training thread.
            Console.Error.WriteLine($"[{context.Signal} again: quitting at once, without a checkpoint]");
            context.Cancel = false;
        }
    }
}
