using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

public class DeviceTests
{
    // torch.CUDA and torch.device("cuda") themselves throw TorchSharp's trace without CUDA; a plain Device does not.
    private static readonly Device Cuda = new(DeviceType.CUDA);

    private static NewLlmOptions Tiny() => new() { VocabSize = 20, EmbedDim = 4, HiddenDim = 6, ContextDim = 4, Seed = 1 };

    [SkippableFact]
    public void CreatingAModelOnCudaWithoutCudaSaysWhatToReference()
    {
        Skip.If(torch.cuda.is_available(), "CUDA is available here.");
        var ex = Assert.Throws<InvalidOperationException>(() => new NewLlmModel(Tiny(), Cuda));
        AssertClear(ex.Message, "cuda");
    }

    [SkippableFact]
    public void MovingAModelToCudaWithoutCudaSaysWhatToReferenceAndLeavesItOnTheCpu()
    {
        Skip.If(torch.cuda.is_available(), "CUDA is available here.");
        using var model = new NewLlmModel(Tiny());
        AssertClear(Assert.Throws<InvalidOperationException>(() => model.to(Cuda)).Message, "cuda");
        AssertClear(Assert.Throws<InvalidOperationException>(() => model.to("cuda:0")).Message, "cuda:0");
        AssertClear(Assert.Throws<InvalidOperationException>(() => model.to(DeviceType.CUDA, 1)).Message, "cuda:1");
        AssertClear(Assert.Throws<InvalidOperationException>(() => model.to(Cuda, ScalarType.Float64)).Message, "cuda");
        AssertClear(Assert.Throws<InvalidOperationException>(() => model.cuda()).Message, "cuda");
        Assert.Equal(DeviceType.CPU, model.Device.type);
        Assert.Equal(ScalarType.Float32, model.state_dict()["token_output.weight"].dtype);
    }

    [SkippableFact]
    public void TheCheckNamesTheOptionThatAskedForCuda()
    {
        Skip.If(torch.cuda.is_available(), "CUDA is available here.");
        var ex = Assert.Throws<InvalidOperationException>(() => TorchBackend.EnsureDeviceAvailable(new Device(DeviceType.CUDA, 0), "TrainerOptions.Device"));
        Assert.StartsWith("TrainerOptions.Device", ex.Message, StringComparison.Ordinal);
        AssertClear(ex.Message, "cuda:0");
    }

    [SkippableFact]
    public void ResolvingACudaNameWithoutCudaSaysWhatToReference()
    {
        Skip.If(torch.cuda.is_available(), "CUDA is available here.");
        AssertClear(Assert.Throws<InvalidOperationException>(() => TorchBackend.ResolveDevice("cuda")).Message, "cuda");
        var ex = Assert.Throws<InvalidOperationException>(() => TorchBackend.ResolveDevice(" CUDA:2 ", "TrainerOptions.Device"));
        Assert.StartsWith("TrainerOptions.Device", ex.Message, StringComparison.Ordinal);
        AssertClear(ex.Message, "cuda:2");
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void AnInvalidDeviceNameIsNamed(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => TorchBackend.ResolveDevice(name, "TrainerOptions.Device"));
        Assert.StartsWith($"TrainerOptions.Device must be 'cpu', 'cuda' or 'cuda:N', but is '{name}'.", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{name}'", Assert.Throws<ArgumentException>(() => TorchBackend.ResolveDevice(name)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCpuIsAlwaysAvailable()
    {
        Assert.Same(torch.CPU, TorchBackend.EnsureDeviceAvailable(torch.CPU));
        Assert.Equal(DeviceType.CPU, TorchBackend.ResolveDevice(" Cpu ").type);
        using var model = new NewLlmModel(Tiny(), torch.CPU);
        model.to(torch.CPU);
        model.to(ScalarType.Float64);
        Assert.Equal(DeviceType.CPU, model.Device.type);
    }

    [Fact]
    public void CoreMessagesUseApiNamesNotCommandLineFlags()
    {
        // Library errors speak API names (NewLlmOptions.Seed, TrainerOptions.Device), never a sample's flags (--device).
        string source = Path.Combine(TestPaths.RepositoryRoot, "src", "NewLlm.Core");
        var flags = new System.Text.RegularExpressions.Regex("\"[^\"\\n]*\\s--[a-z][a-z_-]*[^\"\\n]*\"");
        var offenders = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => !l.Text.TrimStart().StartsWith("//", StringComparison.Ordinal) && flags.IsMatch(l.Text))
            .Select(l => $"{Path.GetRelativePath(source, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.Empty(offenders);
    }

    private static void AssertClear(string message, string device)
    {
        Assert.Contains($"'{device}'", message, StringComparison.Ordinal);
        Assert.Contains("CUDA", message, StringComparison.Ordinal);
        Assert.Contains("TorchSharp-cuda-linux", message, StringComparison.Ordinal);
        Assert.Contains("TorchSharp-cuda-windows", message, StringComparison.Ordinal);
        Assert.Contains("torch.CPU", message, StringComparison.Ordinal);
        Assert.DoesNotContain("--", message, StringComparison.Ordinal);
    }
}
