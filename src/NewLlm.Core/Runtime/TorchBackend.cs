namespace NewLlm;

/// <summary>
/// Loads TorchSharp's native backend once, turning its long diagnostic trace into one clear message chosen from the
/// dynamic loader's own reason (on Linux): the backend package to add, the libstdc++ version that is missing and how
/// NewLlm's build step deals with it, or the loader's text.
/// </summary>
public static class TorchBackend
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// Makes sure the native libtorch backend is loaded. Throws an <see cref="InvalidOperationException"/> naming the
    /// package to add, the missing <c>GLIBCXX_3.4.32</c> and the build step that deals with it, or the loader's reason.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure)
        {
            throw new InvalidOperationException(Describe(failure), failure);
        }
    }

    /// <summary>
    /// Checks that <paramref name="device"/> exists here (the backend is loaded; for CUDA, CUDA is available and the
    /// index in range) and returns it: the one place that turns a missing CUDA into a clear error.
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
    /// Resolves a device name to a device that exists here, with the clear error of
    /// <see cref="EnsureDeviceAvailable(torch.Device, string?)"/> when it does not (<c>torch.device("cuda")</c> throws
    /// TorchSharp's own trace when CUDA is absent, before any NewLlm code can check).
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

    // index -1: the current device.
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
    /// Whether bfloat16 matrix products are fast on <paramref name="device"/>: on the CPU, whether it has a native
    /// bfloat16 product (<c>avx512_bf16</c> or <c>amx_bf16</c>; <c>bf16</c> on Arm), without which libtorch emulates
    /// them many times slower than float32; on CUDA, true.
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

    /// <summary>For constructor chains that must check the backend before a base constructor touches it.</summary>
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

    /// <summary>The version that TorchSharp 0.107's <c>libLibTorchSharp.so</c> asks of libstdc++ (GCC 13's) and NewLlm.Core.targets marks weak.</summary>
    internal const string RequiredLibStdCxxVersion = "GLIBCXX_3.4.32";

    private const string LibraryName = "libLibTorchSharp.so";

    // libtorch itself, which every backend package (TorchSharp-cpu, TorchSharp-cuda-linux) puts beside libLibTorchSharp.so.
    private const string BackendLibrary = "libtorch.so";

    private const string BackendAdvice =
        "Add one to the application project: 'dotnet add package TorchSharp-cpu' for the CPU, 'TorchSharp-cuda-linux' for CUDA on Linux, or 'TorchSharp-cuda-windows' for CUDA on Windows " +
        "(the same version as the TorchSharp package NewLlm uses).";

    private static string Describe(Exception failure) =>
        Describe(ProbeNativeLibrary(), failure.GetBaseException().Message.Split('\n')[0].Trim());

    /// <summary>
    /// The message for a backend that did not load, from the files found and what the dynamic loader said about
    /// TorchSharp's native library (TorchSharp's own exception does not carry the loader's reason).
    /// </summary>
    /// <param name="probe">The files found and what <c>dlopen</c> said.</param>
    /// <param name="underlyingError">The first line of TorchSharp's innermost exception message.</param>
    internal static string Describe(NativeLoadProbe probe, string underlyingError)
    {
        string? loader = probe.LoaderError;
        if (loader is null && !probe.Attempted && underlyingError.Contains("GLIBCXX_", StringComparison.Ordinal))
        {
            loader = underlyingError; // no loader to ask (not Linux): the exception's own text is all there is
        }

        if (probe.LibraryPath is null)
        {
            return "NewLlm needs a TorchSharp backend package, and none could be loaded. " + BackendAdvice + " Underlying error: " + underlyingError;
        }

        string library = probe.LibraryPath;
        string reason = loader is null ? $" Underlying error: {underlyingError}" : $" Loader: {loader}";
        if (!probe.BackendBeside)
        {
            // Whatever else the loader says (it may have found another libtorch on the system), the backend is missing.
            return $"NewLlm needs a TorchSharp backend package: TorchSharp's native library {library} is there, but {BackendLibrary}, which comes with a backend package, is not beside it. " +
                   BackendAdvice + reason;
        }

        if (loader is null)
        {
            return probe.Attempted
                ? $"NewLlm: TorchSharp's native library {library} loads, but TorchSharp could not initialise its backend: {underlyingError}"
                : $"NewLlm: TorchSharp's native library {library} could not be loaded.{reason}";
        }

        System.Text.RegularExpressions.Match version = System.Text.RegularExpressions.Regex.Match(loader, @"version [`'""]?(GLIBCXX_[0-9.]+)[`'""]? not found");
        if (version.Success)
        {
            string missing = version.Groups[1].Value;
            return missing == RequiredLibStdCxxVersion
                ? $"NewLlm: TorchSharp's native library {library} could not be loaded because this system's libstdc++ lacks {missing} (GCC 13's; Debian 12 and Ubuntu 22.04 have GLIBCXX_3.4.30). " +
                  "NewLlm.Core's build step marks that one requirement weak in the copy of libLibTorchSharp.so in the output or publish folder (nothing calls the symbol that asks for it), but it did not run on this copy: " +
                  "build the application with the NewLlm.Core package referenced (directly, or through NewLlm.Data or NewLlm.Training) and without -p:NewLlmPatchLibTorchSharp=false; " +
                  "with a project reference to NewLlm.Core, import its buildTransitive/NewLlm.Core.targets in the application project; or install a libstdc++ from GCC 13 or later." +
                  reason
                : $"NewLlm: TorchSharp's native library {library} could not be loaded because this system's libstdc++ lacks {missing}: install a newer libstdc++.{reason}";
        }

        string hint = loader.Contains("undefined symbol", StringComparison.Ordinal)
            ? " (A backend package of another version than the TorchSharp package gives this: they must be the same version.)"
            : string.Empty;
        return $"NewLlm: TorchSharp's native library {library} could not be loaded.{reason}{hint}";
    }

    // Finds TorchSharp's native library where TorchSharp looks for it and, on Linux, asks the loader why it does not load.
    private static NativeLoadProbe ProbeNativeLibrary()
    {
        string? library = FindNativeLibrary(NativeSearchDirectories());
        if (library is null)
        {
            return new NativeLoadProbe(null, BackendBeside: false, Attempted: false, LoaderError: null);
        }

        bool backend = FindNativeLibrary([Path.GetDirectoryName(library)!], BackendLibrary) is not null;
        try
        {
            if (DynamicLoader.TryOpen(library, out string? error))
            {
                return new NativeLoadProbe(library, backend, Attempted: true, LoaderError: error);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or InvalidOperationException)
        {
            // The question could not be asked: describe from the files alone.
        }

        return new NativeLoadProbe(library, backend, Attempted: false, LoaderError: null);
    }

    // The folders an application's native libraries are looked for in: its own, its runtimes/{rid}/native, the host's probing folders, and TorchSharp's.
    private static IEnumerable<string> NativeSearchDirectories()
    {
        string rid = $"linux-{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        foreach (string root in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? string.Empty })
        {
            if (root.Length > 0)
            {
                yield return root;
                yield return Path.Combine(root, "runtimes", rid, "native");
            }
        }

        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probing)
        {
            foreach (string directory in probing.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                yield return directory;
            }
        }
    }

    /// <summary>The first file called <paramref name="fileName"/> (by default <c>libLibTorchSharp.so</c>) in <paramref name="directories"/>, or null.</summary>
    internal static string? FindNativeLibrary(IEnumerable<string> directories, string fileName = LibraryName) =>
        directories.Select(d => Path.Combine(d, fileName)).FirstOrDefault(File.Exists);
}

/// <summary>
/// The <c>libLibTorchSharp.so</c> found (or null), whether <c>libtorch.so</c> of a backend package is beside it, whether
/// the loader was asked (on Linux, when <c>dlopen</c> is at hand) and its reason when it refused the library.
/// </summary>
internal readonly record struct NativeLoadProbe(string? LibraryPath, bool BackendBeside, bool Attempted, string? LoaderError);

/// <summary>
/// <c>dlopen</c> and <c>dlerror</c> of the C library, called directly: <see cref="System.Runtime.InteropServices.NativeLibrary.TryLoad(string, out IntPtr)"/>
/// says only that a library did not load, the loader says why.
/// </summary>
internal static unsafe class DynamicLoader
{
    private const int RtldNow = 2;

    /// <summary>
    /// Opens <paramref name="path"/> with <c>dlopen(path, RTLD_NOW)</c> and closes it again. Returns false when no
    /// <c>dlopen</c> is at hand (not glibc-like); otherwise true, with <paramref name="error"/> the loader's reason
    /// (<c>dlerror</c>) when it refused the library, null when it loaded.
    /// </summary>
    public static bool TryOpen(string path, out string? error)
    {
        error = null;
        if (!OperatingSystem.IsLinux() || !TryGetFunctions(out IntPtr open, out IntPtr lastError, out IntPtr close))
        {
            return false;
        }

        var dlerror = (delegate* unmanaged<IntPtr>)lastError;
        _ = dlerror(); // clear an earlier error
        IntPtr handle;
        fixed (byte* name = System.Text.Encoding.UTF8.GetBytes(path + "\0"))
        {
            handle = ((delegate* unmanaged<byte*, int, IntPtr>)open)(name, RtldNow);
        }

        if (handle == IntPtr.Zero)
        {
            error = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(dlerror()) ?? "dlopen failed and gave no reason";
            return true;
        }

        _ = ((delegate* unmanaged<IntPtr, int>)close)(handle);
        return true;
    }

    // libdl.so.2 has them on every glibc (a stub forwarding to libc from glibc 2.34 on); libc.so.6 from 2.34 on, and on musl.
    private static bool TryGetFunctions(out IntPtr open, out IntPtr lastError, out IntPtr close)
    {
        open = lastError = close = IntPtr.Zero;
        foreach (string library in new[] { "libdl.so.2", "libc.so.6", "libc.so" })
        {
            if (System.Runtime.InteropServices.NativeLibrary.TryLoad(library, out IntPtr handle)
                && System.Runtime.InteropServices.NativeLibrary.TryGetExport(handle, "dlopen", out open)
                && System.Runtime.InteropServices.NativeLibrary.TryGetExport(handle, "dlerror", out lastError)
                && System.Runtime.InteropServices.NativeLibrary.TryGetExport(handle, "dlclose", out close))
            {
                return true;
            }
        }

        return false;
    }
}
