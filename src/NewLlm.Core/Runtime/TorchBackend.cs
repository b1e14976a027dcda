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

    /// <summary>
    /// Checks that <paramref name="device"/> exists here (the backend is loaded, and for a CUDA device, CUDA is
    /// available and the index is in range) and returns it. The one place that turns a missing CUDA into a clear
    /// error: <see cref="NewLlmModel"/> calls it whenever it is created on or moved to a device.
    /// </summary>
    /// <param name="device">The requested device.</param>
    /// <param name="requestedBy">What asked for the device, named in the message (e.g. <c>"TrainerOptions.Device"</c>); none when null.</param>
    /// <returns><paramref name="device"/>.</returns>
    /// <exception cref="InvalidOperationException">No backend is loaded, CUDA is not available, or the CUDA index is out of range.</exception>
    public static torch.Device EnsureDeviceAvailable(torch.Device device, string? requestedBy = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        EnsureDeviceAvailable(device.type, device.index, requestedBy);
        return device;
    }

    /// <summary>
    /// Resolves a device name to a TorchSharp device that exists here, with the clear error of
    /// <see cref="EnsureDeviceAvailable(torch.Device, string?)"/> when it does not. Prefer it (or a plain
    /// <c>new Device("cuda")</c>) to <c>torch.CUDA</c> and <c>torch.device("cuda")</c>, which throw TorchSharp's own
    /// trace when CUDA is absent, before any NewLlm code can check.
    /// </summary>
    /// <param name="name"><c>"cpu"</c>, <c>"cuda"</c> (the first CUDA device) or <c>"cuda:N"</c>; case and surrounding spaces are ignored.</param>
    /// <param name="requestedBy">What asked for the device, named in the message (e.g. <c>"TrainerOptions.Device"</c>); none when null.</param>
    /// <exception cref="ArgumentException">The name is not <c>"cpu"</c>, <c>"cuda"</c> or <c>"cuda:N"</c>.</exception>
    /// <exception cref="InvalidOperationException">No backend is loaded, CUDA is not available, or the CUDA index is out of range.</exception>
    public static torch.Device ResolveDevice(string name, string? requestedBy = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        string text = name.Trim().ToLowerInvariant();
        int index = -1;
        bool cuda = text == "cuda"
            || (text.StartsWith("cuda:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index));
        if (text != "cpu" && !cuda)
        {
            throw new ArgumentException(
                requestedBy is null
                    ? $"Device '{name}' is not valid: use 'cpu', 'cuda' or 'cuda:N'."
                    : $"{requestedBy} must be 'cpu', 'cuda' or 'cuda:N', but is '{name}'.",
                nameof(name));
        }

        if (!cuda)
        {
            EnsureLoaded();
            return torch.CPU;
        }

        EnsureDeviceAvailable(DeviceType.CUDA, index, requestedBy);
        return torch.device(DeviceType.CUDA, Math.Max(index, 0));
    }

    /// <summary>The check of <see cref="EnsureDeviceAvailable(torch.Device, string?)"/> for a device type and index (-1: the current device).</summary>
    internal static void EnsureDeviceAvailable(DeviceType type, int index, string? requestedBy)
    {
        EnsureLoaded();
        if (type != DeviceType.CUDA)
        {
            return;
        }

        string name = index < 0 ? "cuda" : $"cuda:{index}";
        string prefix = requestedBy is null ? string.Empty : $"{requestedBy}: ";
        if (!torch.cuda.is_available())
        {
            throw new InvalidOperationException(
                $"{prefix}CUDA device '{name}' requested, but CUDA is not available: this application's TorchSharp backend has no CUDA, or no NVIDIA GPU and driver were found. " +
                "Reference TorchSharp-cuda-linux or TorchSharp-cuda-windows (the same version as TorchSharp) instead of TorchSharp-cpu, or use the CPU device (torch.CPU).");
        }

        int count = torch.cuda.device_count();
        if (index >= count)
        {
            throw new InvalidOperationException(
                $"{prefix}CUDA device '{name}' requested, but only {count} CUDA device(s) exist (cuda:0 to cuda:{count - 1}). Use one of those, or the CPU device (torch.CPU).");
        }
    }

    /// <summary>
    /// Whether bfloat16 matrix products are fast on <paramref name="device"/>: on the CPU, whether the processor has a
    /// native bfloat16 product (<c>avx512_bf16</c> or <c>amx_bf16</c>; <c>bf16</c> on Arm), without which libtorch
    /// emulates them many times slower than float32; on CUDA, true (every GPU libtorch supports multiplies bfloat16,
    /// natively from Ampere on).
    /// </summary>
    public static bool HasFastBFloat16(torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.type != DeviceType.CPU || CpuBFloat16Support.Current.Native;
    }

    /// <summary>
    /// Refuses bfloat16 mixed precision (<see cref="NewLlmModel.ComputeDType"/>) on a CPU without a native bfloat16
    /// product (see <see cref="HasFastBFloat16"/>), with a message naming the processor feature that is missing.
    /// </summary>
    /// <param name="device">The device the model trains on.</param>
    /// <param name="requestedBy">What asked for bfloat16 (e.g. <c>"TrainerOptions.Precision"</c>), named in the message.</param>
    /// <param name="howToForce">How the caller lets a slow run go ahead anyway, appended to the message; none when null.</param>
    /// <exception cref="NotSupportedException">The device is a CPU without native bfloat16.</exception>
    public static void EnsureFastBFloat16(torch.Device device, string? requestedBy = null, string? howToForce = null) =>
        EnsureFastBFloat16(device, CpuBFloat16Support.Current, requestedBy, howToForce);

    /// <summary><see cref="EnsureFastBFloat16(torch.Device, string?, string?)"/> for a given processor's support (for tests).</summary>
    internal static void EnsureFastBFloat16(torch.Device device, CpuBFloat16Support cpu, string? requestedBy, string? howToForce)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.type == DeviceType.CPU && !cpu.Native)
        {
            string prefix = requestedBy is null ? string.Empty : $"{requestedBy}: ";
            throw new NotSupportedException(
                $"{prefix}bfloat16 mixed precision needs a CPU with native bfloat16 products (the avx512_bf16 or amx_bf16 feature; bf16 on Arm), "
                + $"but {cpu.Description}. Without it libtorch emulates bfloat16 many times slower than float32: train in float32"
                + (howToForce is null ? "." : $", or {howToForce} to run it anyway."));
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
