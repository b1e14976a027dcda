using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary><see cref="NewLlmModel.AddLayers"/>: new layers appended as identity maps keep the logits; training moves them.</summary>
public class LayerGrowthTests
{
    private static NewLlmModel Model(int layers, int context = 6, double scale = 0.3, int seed = 5)
    {
        NewLlmModel model = ScrambledModels.Create(layers, context, scale, seed);
        using (no_grad())
        {
            model.named_parameters().Single(p => p.name == "context_norm.weight").parameter.mul_(40); // contexts reach the clamp at ±10
        }

        return model;
    }

    private static Dictionary<string, Tensor> Parameters(NewLlmModel model) => ScrambledModels.Parameters(model);

    private static Tensor Ids(int seed = 2)
    {
        using var generator = new Generator((ulong)seed);
        return randint(0, 23, [3, 60], generator: generator, dtype: ScalarType.Int64);
    }

    // The largest difference of the two models' logits on the same ids, in evaluation mode (no dropout).
    private static double LogitDifference(NewLlmModel a, NewLlmModel b, Tensor ids, bool clampMatters = true)
    {
        using var noGrad = no_grad();
        using NewLlmForwardResult first = a.ForwardWithContexts(ids);
        using NewLlmForwardResult second = b.ForwardWithContexts(ids);
        if (clampMatters)
        {
            Assert.True(first.Contexts.abs().eq(NewLlmModel.ContextClampMax).any().item<bool>(), "the clamp matters");
        }

        return (first.Logits - second.Logits).abs().max().to_type(ScalarType.Float64).item<double>();
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(4, 8)]
    [InlineData(1, 12)]
    public void TheDeeperModelComputesTheSameLogitsAndTheOldModelIsUntouched(int layers, int newLayers)
    {
        using NewLlmModel model = Model(layers);
        model.eval();
        var before = Parameters(model);
        using NewLlmModel deeper = model.AddLayers(newLayers);
        using Tensor ids = Ids();
        Assert.Equal(newLayers, deeper.Options.NumLayers);
        Assert.False(deeper.training);
        double difference = LogitDifference(model, deeper, ids);
        Assert.True(difference < 1e-5, $"logits differ by {difference}");
        foreach ((string name, Tensor value) in Parameters(model))
        {
            Assert.True(value.eq(before[name]).all().item<bool>(), $"the original's {name} is untouched");
        }

        Assert.Equal(layers, model.Options.NumLayers);
    }

    [Fact]
    public void TheNewLayersAreIdentityMapsNamedAsTheOriginalNamesItsLayersAndTheOldOnesAreCopied()
    {
        using NewLlmModel model = Model(layers: 2);
        var before = Parameters(model);
        using NewLlmModel deeper = model.AddLayers(5);
        var after = Parameters(deeper);
        using var fresh = new NewLlmModel(new NewLlmOptions { VocabSize = 23, EmbedDim = 7, HiddenDim = 11, ContextDim = 6, NumLayers = 5 });
        Assert.Equal(fresh.named_parameters().Select(p => p.name), deeper.named_parameters().Select(p => p.name)); // same names, same order
        Assert.Equal(["fnn_layers.0", "fnn_layers.3", "fnn_layers.6", "fnn_layers.9", "fnn_layers.12"], after.Keys.Where(n => n.StartsWith("fnn_layers.", StringComparison.Ordinal)).Select(n => n[..n.LastIndexOf('.')]).Distinct());
        foreach (string name in before.Keys)
        {
            Assert.True(after[name].eq(before[name]).all().item<bool>(), $"{name} is copied");
        }

        using Tensor identity = eye(11);
        foreach (int index in new[] { 6, 9, 12 })
        {
            Assert.True(after[$"fnn_layers.{index}.weight"].eq(identity).all().item<bool>(), $"fnn_layers.{index}.weight is the identity");
            Assert.True(after[$"fnn_layers.{index}.bias"].eq(0).all().item<bool>(), $"fnn_layers.{index}.bias is zero");
        }
    }

    [Fact]
    public void TrainingModeDeviceAndDtypeAreKept()
    {
        using NewLlmModel model = Model(layers: 1);
        model.train();
        using NewLlmModel deeper = model.AddLayers(3);
        Assert.True(deeper.training);
        Assert.Equal(model.Device.type, deeper.Device.type);
        model.to(ScalarType.Float64);
        model.eval();
        using NewLlmModel wide = model.AddLayers(2);
        Assert.False(wide.training);
        Assert.All(wide.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        using Tensor ids = Ids();
        Assert.True(LogitDifference(model, wide, ids) < 1e-12, "float64 all the way");
    }

    [SkippableFact]
    public void AModelOnCudaGrowsOnCuda()
    {
        Skip.IfNot(cuda.is_available(), "CUDA is not available here.");
        using NewLlmModel model = Model(layers: 1);
        model.to(CUDA);
        model.eval();
        using NewLlmModel deeper = model.AddLayers(4);
        Assert.Equal(DeviceType.CUDA, deeper.Device.type);
        using Tensor ids = Ids().to(CUDA);
        Assert.True(LogitDifference(model, deeper, ids) < 1e-5);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    [InlineData(0)]
    public void FewerOrEqualLayersAreRefused(int newLayers)
    {
        using NewLlmModel model = Model(layers: 2);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.AddLayers(newLayers));
        Assert.Contains("larger than the model's 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATrainingStepAfterGrowthMovesTheNewLayers()
    {
        using NewLlmModel model = Model(layers: 1, scale: 0.1);
        using NewLlmModel deeper = model.AddLayers(3);
        deeper.train();
        using var optimizer = optim.Adam(deeper.parameters(), 0.01);
        using Tensor ids = Ids(7);
        using (var scope = NewDisposeScope())
        {
            optimizer.zero_grad();
            Tensor logits = deeper.call(ids.narrow(1, 0, 59));
            nn.functional.cross_entropy(logits.reshape(-1, 23), ids.narrow(1, 1, 59).reshape(-1)).backward();
            optimizer.step();
        }

        var after = Parameters(deeper);
        using Tensor identity = eye(11);
        foreach (int index in new[] { 3, 6 })
        {
            Assert.False(after[$"fnn_layers.{index}.weight"].allclose(identity), $"fnn_layers.{index}.weight moved");
            Assert.False(after[$"fnn_layers.{index}.bias"].eq(0).all().item<bool>(), $"fnn_layers.{index}.bias moved");
        }
    }

    [Fact]
    public void GrowthAndContextExpansionCombineInEitherOrder()
    {
        using NewLlmModel model = Model(layers: 1);
        model.eval();
        using NewLlmModel wider = model.ExpandContext(12, ContextExpansion.Replicate);
        using NewLlmModel widerDeeper = wider.AddLayers(4);
        using NewLlmModel deeper = model.AddLayers(4);
        using NewLlmModel deeperWider = deeper.ExpandContext(12, ContextExpansion.Replicate);
        using Tensor ids = Ids();
        foreach (NewLlmModel grown in new[] { widerDeeper, deeperWider })
        {
            Assert.Equal((4, 12), (grown.Options.NumLayers, grown.Options.ContextDim));
            double difference = LogitDifference(model, grown, ids);
            Assert.True(difference < 1e-5, $"logits differ by {difference}");
        }

        var a = Parameters(widerDeeper);
        var b = Parameters(deeperWider);
        Assert.All(a.Keys, name => Assert.True(a[name].allclose(b[name], rtol: 0, atol: 1e-7), $"{name}: the same model either way"));
    }
}
