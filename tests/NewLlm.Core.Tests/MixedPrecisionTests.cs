using System.Runtime.InteropServices;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary><see cref="NewLlmModel.ComputeDType"/> = bfloat16: the loss and gradients against float64, master weights in float32, and the CPU check.</summary>
public class MixedPrecisionTests
{
    /// <summary>The largest relative error of a bfloat16-mixed gradient against float64 that the tests accept (see the first test).</summary>
    private const double MixedTolerance = 0.15;

    private readonly ITestOutputHelper _output;

    public MixedPrecisionTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(1000, 1, 6, 24)]    // the word vocabulary: the table per vocabulary entry, the fused float32 kernels
    [InlineData(1000, 2, 6, 24)]    // a deeper layer's products too
    [InlineData(50257, 1, 6, 24)]   // the GPT-2 vocabulary: the table per position, several loss chunks
    [InlineData(1000, 2, 70, 40)]   // two row threads, each with several blocks of positions' weight gradients, the last one partial
    public void BFloat16LossAndGradientsAreFloat64sToBFloat16Rounding(int vocab, int layers, int batch, int time)
    {
        using var scope = NewDisposeScope();
        (NewLlmModel model, NewLlmModel exact) = Models(vocab, layers);
        (Tensor inputs, Tensor targets) = Batch(vocab, batch, time);

        (double exactLoss, Dictionary<string, Tensor> exactGrads) = LossAndGradients(exact, inputs, targets);
        (double fp32Loss, Dictionary<string, Tensor> fp32Grads) = LossAndGradients(model, inputs, targets, chunkRows: 40);
        model.ComputeDType = ScalarType.BFloat16;
        (double bf16Loss, Dictionary<string, Tensor> bf16Grads) = LossAndGradients(model, inputs, targets, chunkRows: 40);

        // The products really ran in bfloat16 (errors far above float32's), and stayed within its rounding. At these
        // sizes, near the initial weights, bfloat16 moves the small inner gradients by several percent: PyTorch's own
        // CPU autocast moves them by 6-13% (torch 1.13, the reference model with the same sizes and batch shapes;
        // the output layer's by 1.5-2.3%), this path by 3-11% (the output layer's by 0.5%). A wrong operand, sign or
        // transpose moves them by 100%.
        double fp32Error = WorstRelativeError(exactGrads, fp32Grads), bf16Error = WorstRelativeError(exactGrads, bf16Grads);
        foreach ((string name, Tensor g) in exactGrads)
        {
            _output.WriteLine($"{name}: {(bf16Grads[name] - g).norm().item<double>() / g.norm().item<double>():E2} (fp32 {(fp32Grads[name] - g).norm().item<double>() / g.norm().item<double>():E2})");
        }

        _output.WriteLine($"loss: float64 {exactLoss:R}, float32 {fp32Loss:R}, bf16 mixed {bf16Loss:R}; worst gradient error: float32 {fp32Error:E2}, bf16 mixed {bf16Error:E2}");
        Assert.True(Math.Abs(bf16Loss - exactLoss) <= 2e-3 * exactLoss, $"bf16 loss {bf16Loss} against float64's {exactLoss}");
        Assert.True(bf16Error <= MixedTolerance, $"a bf16 gradient is off by {bf16Error:E2} of its norm");
        Assert.True(bf16Error > 10 * fp32Error, $"bf16 error {bf16Error:E2} is not above float32's {fp32Error:E2}: the products did not run in bfloat16");
    }

    [Fact]
    public void TheOperatorPathUsedOnCudaComputesTheSame()
    {
        // float64 parameters take the operator strategy, the loops' path for every device but the CPU in float32.
        using var scope = NewDisposeScope();
        (NewLlmModel model, NewLlmModel exact) = Models(300, 2);
        model.to(ScalarType.Float64);
        (Tensor inputs, Tensor targets) = Batch(300, 4, 16);

        (double exactLoss, Dictionary<string, Tensor> exactGrads) = LossAndGradients(exact, inputs, targets);
        model.ComputeDType = ScalarType.BFloat16;
        (double mixedLoss, Dictionary<string, Tensor> mixedGrads) = LossAndGradients(model, inputs, targets);

        double error = WorstRelativeError(exactGrads, mixedGrads);
        _output.WriteLine($"loss {mixedLoss:R} against {exactLoss:R}; worst gradient error {error:E2}");
        Assert.True(Math.Abs(mixedLoss - exactLoss) <= 2e-3 * exactLoss);
        Assert.InRange(error, 1e-5, MixedTolerance);
    }

    [Fact]
    public void ParametersGradientsAndTheLossStayFloat32()
    {
        using var scope = NewDisposeScope();
        (NewLlmModel model, _) = Models(200, 2);
        model.ComputeDType = ScalarType.BFloat16;
        (Tensor inputs, Tensor targets) = Batch(200, 3, 10);

        model.zero_grad();
        using NewLlmLoss loss = model.NextTokenLoss(inputs, targets, 0);
        loss.Loss.backward();

        Assert.Equal(ScalarType.Float32, loss.Loss.dtype);
        Assert.Equal(ScalarType.Float32, loss.TokenLosses.dtype);
        Assert.All(model.named_parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.parameter.dtype);
            Assert.Equal(ScalarType.Float32, p.parameter.grad!.dtype);
        });
    }

    [Fact]
    public void WithoutGradientsTheModelComputesInItsParametersDType()
    {
        using var scope = NewDisposeScope();
        (NewLlmModel model, _) = Models(200, 1);
        model.eval();
        (Tensor inputs, Tensor targets) = Batch(200, 3, 10);
        using var noGrad = no_grad();

        using NewLlmLoss fp32 = model.NextTokenLoss(inputs, targets, 0);
        Tensor fp32Logits = model.call(inputs);
        model.ComputeDType = ScalarType.BFloat16;
        using NewLlmLoss mixed = model.NextTokenLoss(inputs, targets, 0);

        Assert.True(fp32.TokenLosses.eq(mixed.TokenLosses).all().item<bool>(), "an evaluation loss changed with ComputeDType");
        Assert.True(fp32Logits.eq(model.call(inputs)).all().item<bool>(), "inference logits changed with ComputeDType");
    }

    [Fact]
    public void ForwardWithGradientsGivesTheFullLogitsInBFloat16Products()
    {
        using var scope = NewDisposeScope();
        (NewLlmModel model, _) = Models(200, 1);
        (Tensor inputs, _) = Batch(200, 3, 10);
        Tensor fp32 = model.call(inputs).detach();
        model.ComputeDType = ScalarType.BFloat16;

        Tensor mixed = model.call(inputs);
        mixed.sum().backward();

        Assert.Equal(ScalarType.Float32, mixed.dtype);
        double difference = (mixed - fp32).abs().max().item<float>(), scale = fp32.abs().max().item<float>();
        Assert.InRange(difference, 1e-7 * scale, 2e-2 * scale);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Int64)]
    public void OnlyBFloat16OrNullIsAccepted(ScalarType dtype)
    {
        using NewLlmModel model = Models(50, 1).Model;
        var error = Assert.Throws<ArgumentException>(() => model.ComputeDType = dtype);
        Assert.Contains("BFloat16", error.Message);
        Assert.Null(model.ComputeDType);
        model.ComputeDType = ScalarType.BFloat16;
        model.ComputeDType = null;
    }

    [Fact]
    public void TheCpuFlagsDecideAndAMissingFeatureIsNamed()
    {
        // A real flags line is long: the feature comes after a hundred others.
        string many = string.Join(' ', Enumerable.Range(0, 100).Select(i => $"feature{i}"));
        string With = $"processor\t: 0\nflags\t\t: fpu {many} avx512f avx512_bf16 avx512_vnni\n";
        const string Without = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\nbugs\t\t: spectre_v1\n";
        Assert.True(CpuBFloat16Support.FromCpuInfo(With, Architecture.X64).Native);
        Assert.True(CpuBFloat16Support.FromCpuInfo("flags : sse2 amx_bf16 amx_tile\n", Architecture.X64).Native);
        Assert.True(CpuBFloat16Support.FromCpuInfo("Features\t: fp asimd bf16 i8mm\n", Architecture.Arm64).Native);
        CpuBFloat16Support without = CpuBFloat16Support.FromCpuInfo(Without, Architecture.X64);
        Assert.False(without.Native);

        var error = Assert.Throws<NotSupportedException>(() => TorchBackend.EnsureFastBFloat16(CPU, without, "TrainerOptions.Precision", "set TrainerOptions.AllowSlowBFloat16"));
        Assert.Contains("TrainerOptions.Precision", error.Message);
        Assert.Contains("avx512_bf16", error.Message);
        Assert.Contains("amx_bf16", error.Message);
        Assert.Contains("set TrainerOptions.AllowSlowBFloat16", error.Message);
        TorchBackend.EnsureFastBFloat16(CPU, CpuBFloat16Support.FromCpuInfo(With, Architecture.X64), "x", null);

        // oneDNN limited below AVX512_CORE_BF16 emulates bfloat16 even where the processor has it.
        CpuBFloat16Support limited = CpuBFloat16Support.FromCpuInfo(With, Architecture.X64, "avx512_core_vnni");
        Assert.False(limited.Native);
        Assert.Contains("ONEDNN_MAX_CPU_ISA=avx512_core_vnni", limited.Description);
        Assert.False(CpuBFloat16Support.FromCpuInfo(With, Architecture.X64, "AVX2").Native);
        Assert.True(CpuBFloat16Support.FromCpuInfo(With, Architecture.X64, "AVX512_CORE_BF16").Native);
        Assert.True(CpuBFloat16Support.FromCpuInfo(With, Architecture.X64, "AVX512_CORE_AMX").Native);
        Assert.True(CpuBFloat16Support.FromCpuInfo(With, Architecture.X64, "ALL").Native);
        Assert.False(CpuBFloat16Support.FromCpuInfo(Without, Architecture.X64, "ALL").Native);
    }

    /// <summary>A float32 model and its float64 copy.</summary>
    private static (NewLlmModel Model, NewLlmModel Exact) Models(int vocab, int layers)
    {
        var options = new NewLlmOptions { VocabSize = vocab, NumLayers = layers, EmbedDim = 32, HiddenDim = 64, ContextDim = 32, Dropout = 0, Seed = vocab + layers };
        var model = new NewLlmModel(options);
        var exact = new NewLlmModel(options);
        exact.to(ScalarType.Float64);
        model.train();
        exact.train();
        return (model, exact);
    }

    /// <summary>Random inputs and targets in [1, vocab), every fifth target the pad id 0.</summary>
    private static (Tensor Inputs, Tensor Targets) Batch(int vocab, int batch, int time)
    {
        using var generator = new Generator((ulong)vocab);
        Tensor inputs = randint(1, vocab, new long[] { batch, time }, dtype: ScalarType.Int64, generator: generator);
        Tensor targets = randint(1, vocab, new long[] { batch, time }, dtype: ScalarType.Int64, generator: generator);
        Tensor pad = arange(batch * time, dtype: ScalarType.Int64).view(batch, time).remainder(5).eq(0);
        return (inputs, targets.masked_fill(pad, 0));
    }

    private static (double Loss, Dictionary<string, Tensor> Gradients) LossAndGradients(NewLlmModel model, Tensor inputs, Tensor targets, long? chunkRows = null)
    {
        model.zero_grad();
        using NewLlmLoss loss = model.NextTokenLoss(inputs, targets, 0, chunkRows);
        loss.Loss.backward();
        double value = loss.Loss.to_type(ScalarType.Float64).item<double>();
        return (value, model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.to_type(ScalarType.Float64)));
    }

    /// <summary>The largest ||g - exact|| / ||exact|| over the parameters.</summary>
    private static double WorstRelativeError(Dictionary<string, Tensor> exact, Dictionary<string, Tensor> actual) =>
        exact.Max(p =>
        {
            double norm = p.Value.norm().item<double>();
            Assert.True(norm > 0, $"the gradient of {p.Key} is zero: the test compares nothing");
            return (actual[p.Key] - p.Value).norm().item<double>() / norm;
        });
}
