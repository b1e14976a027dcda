using System.Runtime.InteropServices;

namespace NewLlm.Benchmarks;

/// <summary>
/// The process's own counters from <c>getrusage(RUSAGE_SELF)</c>: minor page faults (pages mapped and zeroed afresh)
/// and the peak resident set. Figures from the process, not estimates; zero where the call is not available (Windows).
/// </summary>
internal static partial class ProcessUsage
{
    private const int RusageSelf = 0;

    /// <summary>Minor page faults of the process so far.</summary>
    public static long MinorFaults => Read(out long faults, out _) ? faults : 0;

    /// <summary>The peak resident set of the process so far, in bytes.</summary>
    public static long PeakResidentBytes => Read(out _, out long peakKilobytes) ? peakKilobytes * 1024 : 0;

    private static bool Read(out long minorFaults, out long peakKilobytes)
    {
        // struct rusage on 64-bit Linux: two timevals (4 longs), then ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ...
        long[] usage = new long[18];
        if (!OperatingSystem.IsLinux() || GetResourceUsage(RusageSelf, usage) != 0)
        {
            (minorFaults, peakKilobytes) = (0, 0);
            return false;
        }

        (peakKilobytes, minorFaults) = (usage[4], usage[8]);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetResourceUsage(int who, [Out] long[] usage);
}
