using System.Runtime.InteropServices;
using System.Text;

namespace NewLlm.Core.Tests;

/// <summary>
/// The message a backend that does not load gets is chosen from the dynamic loader's own reason (dlopen/dlerror), not
/// from TorchSharp's exception, which does not carry it.
/// </summary>
public class TorchBackendTests
{
    private const string Library = "/app/runtimes/linux-x64/native/libLibTorchSharp.so";
    private const string Underlying = "Unable to load shared library 'LibTorchSharp' or one of its dependencies.";

    [Fact]
    public void AMissingGlibcxx3432SaysSoAndNamesTheBuildStepAndItsSwitchNotTheBackendPackage()
    {
        string loader = $"/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by {Library})";
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: true, loader), Underlying);
        Assert.Contains("libstdc++ lacks GLIBCXX_3.4.32", message, StringComparison.Ordinal);
        Assert.Contains("NewLlmPatchLibTorchSharp=false", message, StringComparison.Ordinal);
        Assert.Contains("buildTransitive/NewLlm.Core.targets", message, StringComparison.Ordinal);
        Assert.Contains("GCC 13", message, StringComparison.Ordinal);
        Assert.EndsWith("Loader: " + loader, message, StringComparison.Ordinal);
        Assert.DoesNotContain("TorchSharp-cpu", message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherMissingGlibcxxVersionAsksForANewerLibstdcxxWithoutPromisingTheBuildStep()
    {
        string loader = $"/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.33' not found (required by {Library})";
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: true, loader), Underlying);
        Assert.Contains("lacks GLIBCXX_3.4.33: install a newer libstdc++", message, StringComparison.Ordinal);
        Assert.DoesNotContain("NewLlmPatchLibTorchSharp", message, StringComparison.Ordinal);
        Assert.DoesNotContain("TorchSharp-cpu", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("libtorch.so: cannot open shared object file: No such file or directory")]
    [InlineData(Library + ": undefined symbol: _ZNK3c105Error4whatEv")] // a libtorch of the system's, found instead
    [InlineData("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by " + Library + ")")]
    public void WithoutLibtorchBesideTheLibraryTheBackendPackageIsAskedForWhateverTheLoaderSays(string loader)
    {
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: false, Attempted: true, loader), Underlying);
        Assert.StartsWith($"NewLlm needs a TorchSharp backend package: TorchSharp's native library {Library} is there, but libtorch.so, which comes with a backend package, is not beside it.", message, StringComparison.Ordinal);
        Assert.Contains("'dotnet add package TorchSharp-cpu'", message, StringComparison.Ordinal);
        Assert.EndsWith("Loader: " + loader, message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingDependencyOtherThanTheBackendIsPrintedAsTheLoaderSaidIt()
    {
        const string loader = "libgomp.so.1: cannot open shared object file: No such file or directory";
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: true, loader), Underlying);
        Assert.Equal($"NewLlm: TorchSharp's native library {Library} could not be loaded. Loader: {loader}", message);
    }

    [Fact]
    public void AnUndefinedSymbolWithTheBackendBesideSaysTheVersionsMustMatch()
    {
        string loader = Library + ": undefined symbol: _ZNK3c105Error4whatEv";
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: true, loader), Underlying);
        Assert.StartsWith($"NewLlm: TorchSharp's native library {Library} could not be loaded. Loader: {loader}", message, StringComparison.Ordinal);
        Assert.Contains("must be the same version", message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoNativeLibraryFoundAtAllAsksForTheBackendPackage()
    {
        string message = TorchBackend.Describe(new NativeLoadProbe(LibraryPath: null, BackendBeside: false, Attempted: false, LoaderError: null), Underlying);
        Assert.StartsWith("NewLlm needs a TorchSharp backend package, and none could be loaded.", message, StringComparison.Ordinal);
        Assert.Contains("TorchSharp-cpu", message, StringComparison.Ordinal);
        Assert.EndsWith("Underlying error: " + Underlying, message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnyOtherLoaderErrorIsPrintedAsTheLoaderSaidIt()
    {
        string loader = $"{Library}: invalid ELF header";
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: true, loader), Underlying);
        Assert.Equal($"NewLlm: TorchSharp's native library {Library} could not be loaded. Loader: {loader}", message);
    }

    [Fact]
    public void ALibraryTheLoaderAcceptsIsNotBlamedAndTorchSharpsErrorIsShown()
    {
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: true, LoaderError: null), "Some initialisation error");
        Assert.Equal($"NewLlm: TorchSharp's native library {Library} loads, but TorchSharp could not initialise its backend: Some initialisation error", message);
    }

    [Fact]
    public void WithoutALoaderToAskAGlibcxxErrorInTorchSharpsOwnTextStillGetsTheGlibcxxMessage()
    {
        string underlying = "/lib/libstdc++.so.6: version 'GLIBCXX_3.4.32' not found";
        string message = TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: false, LoaderError: null), underlying);
        Assert.Contains("libstdc++ lacks GLIBCXX_3.4.32", message, StringComparison.Ordinal);
        Assert.Equal(
            $"NewLlm: TorchSharp's native library {Library} could not be loaded. Underlying error: {Underlying}",
            TorchBackend.Describe(new NativeLoadProbe(Library, BackendBeside: true, Attempted: false, LoaderError: null), Underlying));
    }

    [Fact]
    public void TheNativeLibraryIsTheFirstOneFoundInTheSearchedFolders()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string empty = temp.Combine("empty");
        string first = temp.Combine("first");
        string second = temp.Combine("second");
        foreach (string directory in new[] { empty, first, second })
        {
            Directory.CreateDirectory(directory);
        }

        Assert.Null(TorchBackend.FindNativeLibrary([empty, temp.Combine("missing")]));
        File.WriteAllText(Path.Combine(first, "libtorch.so"), "x");
        Assert.Equal(Path.Combine(first, "libtorch.so"), TorchBackend.FindNativeLibrary([empty, first, second], "libtorch.so"));
        Assert.Null(TorchBackend.FindNativeLibrary([empty, first, second]));
        File.WriteAllText(Path.Combine(second, "libLibTorchSharp.so"), "x");
        Assert.Equal(Path.Combine(second, "libLibTorchSharp.so"), TorchBackend.FindNativeLibrary([empty, first, second]));
        File.WriteAllText(Path.Combine(first, "libLibTorchSharp.so"), "x");
        Assert.Equal(Path.Combine(first, "libLibTorchSharp.so"), TorchBackend.FindNativeLibrary([empty, first, second]));
    }

    [SkippableFact]
    public void TheLoadersOwnReasonIsCapturedForAFileThatIsNotALibrary()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "dlopen is asked on Linux only.");
        using var temp = new NewLlm.Tests.TempDirectory();
        string path = temp.Combine("libLibTorchSharp.so");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("this is not an ELF file; ", 20)));

        Assert.True(DynamicLoader.TryOpen(path, out string? error));
        Assert.NotNull(error);
        Assert.Contains(path, error, StringComparison.Ordinal);
        Assert.Contains("invalid ELF header", error, StringComparison.Ordinal);
        Assert.Equal($"NewLlm: TorchSharp's native library {path} could not be loaded. Loader: {error}", TorchBackend.Describe(new NativeLoadProbe(path, BackendBeside: true, Attempted: true, error), Underlying));
    }

    [SkippableFact]
    public void TheLoaderReportsTheMissingGlibcxxOfTheUnpatchedLibraryExactlyWhenThisLibstdcxxLacksIt()
    {
        // The NuGet cache's libLibTorchSharp.so is the unpatched one (the build step patches only the copy in the
        // output folder). Its libtorch dependencies are the ones this process has already loaded, so the loader gets as
        // far as the version check: it fails there on a libstdc++ without GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04), and
        // the library loads on a newer one. The copy in this test's output folder, patched where needed, always loads.
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64, "linux-x64 only.");
        TorchBackend.EnsureLoaded();
        string home = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string cached = Path.Combine(home, "torchsharp", typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Skip.IfNot(File.Exists(cached), $"{cached} is absent.");

        Assert.True(DynamicLoader.TryOpen(cached, out string? error));
        if (HostLibstdcxxHas(TorchBackend.RequiredLibStdCxxVersion))
        {
            Assert.Null(error);
        }
        else
        {
            Assert.NotNull(error);
            Assert.Contains($"version `{TorchBackend.RequiredLibStdCxxVersion}' not found", error, StringComparison.Ordinal);
            string message = TorchBackend.Describe(new NativeLoadProbe(cached, BackendBeside: true, Attempted: true, error), Underlying);
            Assert.Contains($"libstdc++ lacks {TorchBackend.RequiredLibStdCxxVersion}", message, StringComparison.Ordinal);
            Assert.DoesNotContain("TorchSharp-cpu", message, StringComparison.Ordinal);
        }

        string copy = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(DynamicLoader.TryOpen(copy, out string? copyError));
        Assert.Null(copyError);
    }

    private static bool HostLibstdcxxHas(string version)
    {
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        return new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
            .Where(File.Exists).Any(p => File.ReadAllBytes(p).AsSpan().IndexOf(needle) >= 0);
    }
}
