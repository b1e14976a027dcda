using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>
/// The context steps of the original's progression at its real widths (E 256, H 512): 256 → 512 → 1024 by replication
/// keeps the function, the original's rule at 512 → 1024, and a 1024-wide model through the weight files.
/// </summary>
public sealed class ContextProgressionTests : IDisposable
{
    private const int Vocab = 50;
    private readonly NewLlm.Tests.TempDirectory _temp = new("newllm-context-progression");

    public void Dispose() => _temp.Dispose();

    // Real widths, a small vocabulary and weights away from the initialisation; the contexts reach the clamp (a LayerNorm
    // scaled by normScale), and outputScale makes the logits larger.
    private static NewLlmModel Model(int layers = 2, double normScale = 1, double outputScale = 1, ScalarType dtype = ScalarType.Float32)
    {
        TorchBackend.EnsureLoaded();
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = Vocab, NumLayers = layers, Seed = 3 });
        using (no_grad())
        {
            using var generator = new Generator(8);
            foreach (var (_, parameter) in model.named_parameters())
            {
                parameter.add_(empty_like(parameter).normal_(0, 0.03, generator));
            }

            model.named_parameters().Single(p => p.name == "context_norm.weight").parameter.mul_(normScale);
            model.named_parameters().Single(p => p.name == "token_output.weight").parameter.mul_(outputScale);
        }

        model.to(dtype);
        model.eval();
        return model;
    }

    private static Tensor Ids(int length = 200)
    {
        using var generator = new Generator(4);
        return randint(0, Vocab, [2, length], generator: generator, dtype: ScalarType.Int64);
    }

    private static Dictionary<string, Tensor> Parameters(NewLlmModel model) => ScrambledModels.Parameters(model);

    // float32: the replicated model's logits agree within 1e-5 (its own rounding differs from the narrow model's only at
    // float32's precision, which the recurrence carries along: both differ from the float64 function by about 1e-6 here).
    // float64: the same construction agrees to 1e-10 with a LayerNorm scaled so that most contexts sit on the clamp and
    // logits near 50, where float32's rounding alone, amplified by the recurrence, reaches 1e-3 (in either model).
    [Theory]
    [InlineData(ScalarType.Float32, 1.0, 1.0, 1e-5)]
    [InlineData(ScalarType.Float64, 40.0, 10.0, 1e-10)]
    public void ReplicatingTwiceFrom256To512To1024KeepsTheLogitsPastTheClamp(ScalarType dtype, double normScale, double outputScale, double tolerance)
    {
        using NewLlmModel model = Model(normScale: normScale, outputScale: outputScale, dtype: dtype);
        using NewLlmModel wider = model.ExpandContext(512, ContextExpansion.Replicate);
        using NewLlmModel widest = wider.ExpandContext(1024, ContextExpansion.Replicate);
        Assert.Equal((256, 512, 1024), (model.Options.ContextDim, wider.Options.ContextDim, widest.Options.ContextDim));
        Assert.Equal(dtype, widest.parameters().First().dtype);
        using Tensor ids = Ids();
        using var noGrad = no_grad();
        using NewLlmForwardResult narrow = model.ForwardWithContexts(ids);
        using NewLlmForwardResult wide = widest.ForwardWithContexts(ids);
        Assert.True(narrow.Contexts.abs().eq(NewLlmModel.ContextClampMax).any().item<bool>(), "the clamp matters");
        Assert.True(narrow.Logits.abs().max().to_type(ScalarType.Float64).item<double>() > 0.5, "logits large enough for a difference to show");
        double difference = (wide.Logits - narrow.Logits).abs().max().to_type(ScalarType.Float64).item<double>();
        Assert.True(difference < tolerance, $"logits differ by {difference}");
        for (int copy = 0; copy < 4; copy++)
        {
            Assert.True(wide.Contexts.narrow(2, 256 * copy, 256).allclose(narrow.Contexts, rtol: 0, atol: tolerance * 10), $"copy {copy} of the context");
        }
    }

    [Fact]
    public void TheOriginalRuleFrom512To1024KeepsTheOldBlocksAndStartsTheNewOnesAtZeroAndOne()
    {
        using NewLlmModel model = Model();
        using NewLlmModel wider = model.ExpandContext(512, ContextExpansion.Replicate);
        var before = Parameters(wider);
        using NewLlmModel widest = wider.ExpandContext(1024);
        var after = Parameters(widest);
        Assert.Equal(new long[] { 512, 256 + 1024 }, after["fnn_layers.0.weight"].shape);
        Assert.True(after["fnn_layers.0.weight"].narrow(1, 0, 256 + 512).eq(before["fnn_layers.0.weight"]).all().item<bool>());
        Assert.True(after["fnn_layers.0.weight"].narrow(1, 256 + 512, 512).eq(0).all().item<bool>());
        foreach (string head in new[] { "context_update", "forget_gate", "input_gate" })
        {
            foreach (string part in new[] { "weight", "bias" })
            {
                Assert.True(after[$"{head}.{part}"].narrow(0, 0, 512).eq(before[$"{head}.{part}"]).all().item<bool>(), $"{head}.{part} old rows");
                Assert.True(after[$"{head}.{part}"].narrow(0, 512, 512).eq(0).all().item<bool>(), $"{head}.{part} new rows");
            }
        }

        Assert.True(after["context_norm.weight"].narrow(0, 512, 512).eq(1).all().item<bool>());
        Assert.True(after["context_norm.bias"].narrow(0, 512, 512).eq(0).all().item<bool>());
        foreach (string name in new[] { "token_embedding.weight", "fnn_layers.0.bias", "fnn_layers.3.weight", "token_output.weight" })
        {
            Assert.True(after[name].eq(before[name]).all().item<bool>(), $"{name} is copied");
        }

        using Tensor ids = Ids(40);
        using var noGrad = no_grad();
        using Tensor logits = widest.call(ids);
        Assert.True(logits.isfinite().all().item<bool>());
        using Tensor old = wider.call(ids);
        Assert.False(logits.allclose(old, rtol: 0, atol: 1e-5), "the original's rule changes the function (the new dimensions enter the LayerNorm)");
    }

    [Fact]
    public void AModelWithA1024ContextRoundTripsThroughSafetensorsAndPyTorchFiles()
    {
        using NewLlmModel model = Model();
        using NewLlmModel wider = model.ExpandContext(512, ContextExpansion.Replicate);
        using NewLlmModel widest = wider.ExpandContext(1024, ContextExpansion.Replicate, noiseStd: 0.01, seed: 2);
        string safetensors = _temp.Combine("context1024.safetensors"), pytorch = _temp.Combine("context1024.pt");
        widest.SaveSafetensors(safetensors);
        widest.SavePyTorch(pytorch);
        using NewLlmModel fromSafetensors = NewLlmModel.FromSafetensors(safetensors);
        using NewLlmModel fromPyTorch = NewLlmModel.FromPyTorch(pytorch);
        using Tensor ids = Ids(64);
        using var noGrad = no_grad();
        using Tensor expected = widest.call(ids);
        foreach (NewLlmModel loaded in new[] { fromSafetensors, fromPyTorch })
        {
            Assert.Equal((1024, 2, 256, 512, Vocab), (loaded.Options.ContextDim, loaded.Options.NumLayers, loaded.Options.EmbedDim, loaded.Options.HiddenDim, loaded.Options.VocabSize));
            loaded.eval();
            using Tensor logits = loaded.call(ids);
            Assert.Equal(0f, (logits - expected).abs().max().item<float>());
        }

        using var sameSizes = new NewLlmModel(widest.Options);
        sameSizes.LoadPyTorch(pytorch);
        Assert.True(sameSizes.named_parameters().Single(p => p.name == "context_update.weight").parameter.eq(Parameters(widest)["context_update.weight"]).all().item<bool>());
        using var narrower = new NewLlmModel(wider.Options);
        var refused = Assert.Throws<InvalidDataException>(() => narrower.LoadSafetensors(safetensors));
        Assert.Contains(safetensors, refused.Message, StringComparison.Ordinal);
    }
}
