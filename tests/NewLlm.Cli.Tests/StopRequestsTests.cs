using System.Runtime.InteropServices;

namespace NewLlm.Cli.Tests;

/// <summary>
/// What each termination signal means to a stopping run (<c>src/NewLlm.Cli/StopRequests.cs</c>), on a clock the test
/// sets: GNU <c>timeout</c> signals the child and its process group, so one request arrives twice within microseconds.
/// </summary>
public sealed class StopRequestsTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    [Fact]
    public void TheFirstSignalStopsAndARepeatWithinTheWindowIsTheSameRequest()
    {
        var requests = new StopRequests(Window);
        Assert.Equal(SignalMeaning.Stop, requests.Decide(PosixSignal.SIGTERM, TimeSpan.FromSeconds(10)));
        Assert.Equal(PosixSignal.SIGTERM, requests.FirstSignal);
        Assert.Equal(SignalMeaning.SameRequest, requests.Decide(PosixSignal.SIGTERM, TimeSpan.FromSeconds(10) + TimeSpan.FromTicks(10))); // timeout's second delivery
        Assert.Equal(SignalMeaning.SameRequest, requests.Decide(PosixSignal.SIGTERM, TimeSpan.FromSeconds(11.9)));
        Assert.Equal(SignalMeaning.SameRequest, requests.Decide(PosixSignal.SIGINT, TimeSpan.FromSeconds(12))); // the window's edge, whatever the signal
        Assert.Equal(PosixSignal.SIGTERM, requests.FirstSignal); // the first signal decides the exit code
    }

    [Fact]
    public void ASignalAfterTheWindowQuitsAtOnceAndTheWindowRunsFromTheFirstSignal()
    {
        var requests = new StopRequests(Window);
        Assert.Equal(SignalMeaning.Stop, requests.Decide(PosixSignal.SIGINT, TimeSpan.Zero));
        Assert.Equal(SignalMeaning.SameRequest, requests.Decide(PosixSignal.SIGINT, TimeSpan.FromSeconds(1.5)));

        // A repeat does not extend the window: 2.1 s after the first signal is a person asking again.
        Assert.Equal(SignalMeaning.QuitNow, requests.Decide(PosixSignal.SIGINT, TimeSpan.FromSeconds(2.1)));
        Assert.Equal(SignalMeaning.QuitNow, requests.Decide(PosixSignal.SIGTERM, TimeSpan.FromMinutes(5)));
        Assert.Equal(PosixSignal.SIGINT, requests.FirstSignal);
    }

    [Fact]
    public void SignalsFromManyThreadsAtOnceStopExactlyOnce()
    {
        var requests = new StopRequests(Window);
        SignalMeaning[] meanings = new SignalMeaning[64];
        Parallel.For(0, meanings.Length, i => meanings[i] = requests.Decide(PosixSignal.SIGTERM, TimeSpan.FromMilliseconds(1)));
        Assert.Equal(1, meanings.Count(m => m == SignalMeaning.Stop));
        Assert.Equal(meanings.Length - 1, meanings.Count(m => m == SignalMeaning.SameRequest));
    }
}
