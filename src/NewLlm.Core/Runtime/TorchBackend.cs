using TorchSharp;

namespace NewLlm;

/// <summary>
/// Loads TorchSharp's native backend once, turning its long diagnostic trace into one clear message
/// that says which package an application has to add.
/// </summary>
public static class TorchBackend
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Makes sure the native libtorch backend is loaded. Throws an <see cref="InvalidOperationException"/>
    /// naming the package to add when the application references no TorchSharp backend package
    /// (or the backend cannot be loaded on this machine).
    /// </summary>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw new InvalidOperationException(Describe(failure), failure);
        }
    }

    /// <summary>Runs <see cref="EnsureLoaded()"/> and returns <paramref name="value"/>: for constructor chains that must check the backend before a base constructor touches it.</summary>
    internal static T EnsureLoaded<T>(T value)
    {
        EnsureLoaded();
        return value;
    }

    private static Exception? TryLoad()
    {
        // TorchSharp writes its whole load trace to the console before it throws. Hold that output back during the
        // first load, so that a missing backend reads as one message; the trace stays in the inner exception.
        TextWriter console = Console.Out;
        using var trace = new StringWriter();
        Console.SetOut(trace);
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            return null;
        }
        catch (Exception ex) when (ex is NotSupportedException or DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            return ex;
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    private static string Describe(Exception failure)
    {
        string text = failure.ToString() + Innermost(failure).Message;
        if (text.Contains("GLIBCXX", StringComparison.Ordinal))
        {
            return "NewLlm: TorchSharp's native library could not be loaded because this system's libstdc++ is older than the one it was built for (GLIBCXX_3.4.32). " +
                   "Build the application with the NewLlm.Core package referenced (its build step marks that requirement weak in the copied libLibTorchSharp.so), " +
                   "or install a newer libstdc++ (GCC 13 or later).";
        }

        return "NewLlm needs a TorchSharp backend package, and none could be loaded. Add one to the application project: " +
               "'dotnet add package TorchSharp-cpu' for the CPU, 'TorchSharp-cuda-linux' for CUDA on Linux, or 'TorchSharp-cuda-windows' for CUDA on Windows " +
               "(the same version as the TorchSharp package NewLlm uses). Underlying error: " + FirstLine(Innermost(failure).Message);
    }

    private static Exception Innermost(Exception exception)
    {
        while (exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    private static string FirstLine(string message)
    {
        int end = message.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).Trim();
    }
}
