using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary><see cref="NewLlmModel.ExpandContext"/>: the original's rule block by block, and replication that keeps the function.</summary>
public class ContextExpansionTests
{
    private static readonly string[] Heads = ["context_update", "forget_gate", "input_gate"];

    private static NewLlmModel Model(int layers, int context = 5, double scale = 0.3, int seed = 11) => ScrambledModels.Create(layers, context, scale, seed);

    private static Dictionary<string, Tensor> Parameters(NewLlmModel model) => ScrambledModels.Parameters(model);

    [Fact]
    public void TheOriginalRuleCopiesTheOldBlocksZeroesTheNewRowsAndColumnsAndGivesTheNewNormOnesAndZeros()
    {
        using NewLlmModel model = Model(layers: 2);
        var before = Parameters(model);
        using NewLlmModel wider = model.ExpandContext(9);
        var after = Parameters(wider);
        const int E = 7, C = 5, Wide = 9;
        Assert.Equal(Wide, wider.Options.ContextDim);
        Assert.Equal(model.Options.NumLayers, wider.Options.NumLayers);
        Assert.Equal(new long[] { 11, E + Wide }, after["fnn_layers.0.weight"].shape);
        Assert.True(after["fnn_layers.0.weight"].narrow(1, 0, E + C).eq(before["fnn_layers.0.weight"]).all().item<bool>());
        Assert.True(after["fnn_layers.0.weight"].narrow(1, E + C, Wide - C).eq(0).all().item<bool>());
        foreach (string head in Heads)
        {
            foreach (string part in new[] { "weight", "bias" })
            {
                Tensor wide = after[$"{head}.{part}"];
                Assert.Equal(Wide, wide.shape[0]);
                Assert.True(wide.narrow(0, 0, C).eq(before[$"{head}.{part}"]).all().item<bool>(), $"{head}.{part} old rows");
                Assert.True(wide.narrow(0, C, Wide - C).eq(0).all().item<bool>(), $"{head}.{part} new rows");
            }
        }

        Assert.True(after["context_norm.weight"].narrow(0, 0, C).eq(before["context_norm.weight"]).all().item<bool>());
        Assert.True(after["context_norm.weight"].narrow(0, C, Wide - C).eq(1).all().item<bool>());
        Assert.True(after["context_norm.bias"].narrow(0, 0, C).eq(before["context_norm.bias"]).all().item<bool>());
        Assert.True(after["context_norm.bias"].narrow(0, C, Wide - C).eq(0).all().item<bool>());
        foreach (string name in before.Keys.Where(n => n != "fnn_layers.0.weight" && !n.StartsWith("context_", StringComparison.Ordinal) && !Heads.Any(h => n.StartsWith(h, StringComparison.Ordinal))))
        {
            Assert.True(after[name].eq(before[name]).all().item<bool>(), name); // embeddings, deeper layers, biases of the first layer, output
        }

        Assert.Contains("fnn_layers.3.weight", before.Keys);
        foreach ((string name, Tensor value) in Parameters(model))
        {
            Assert.True(value.eq(before[name]).all().item<bool>(), $"the original's {name} is untouched");
        }
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 3)]
    [InlineData(4, 2)]
    public void ReplicationKeepsTheLogitsOverSequencesLongEnoughForTheClamp(int layers, int k)
    {
        using NewLlmModel model = Model(layers, context: 6);
        using (no_grad())
        {
            model.named_parameters().Single(p => p.name == "context_norm.weight").parameter.mul_(40); // contexts reach the clamp at ±10
        }

        model.eval();
        using NewLlmModel wider = model.ExpandContext(6 * k, ContextExpansion.Replicate);
        Assert.False(wider.training);
        using var generator = new Generator(5);
        using Tensor ids = randint(0, 23, [3, 60], generator: generator, dtype: ScalarType.Int64);
        using (no_grad())
        {
            using NewLlmForwardResult narrow = model.ForwardWithContexts(ids);
            using NewLlmForwardResult wide = wider.ForwardWithContexts(ids);
            Assert.True(narrow.Contexts.abs().eq(NewLlmModel.ContextClampMax).any().item<bool>(), "the clamp matters");
            double difference = (wide.Logits - narrow.Logits).abs().max().item<float>();
            Assert.True(difference < 1e-5, $"logits differ by {difference}");
            for (int copy = 0; copy < k; copy++)
            {
                Assert.True(wide.Contexts.narrow(2, 6 * copy, 6).allclose(narrow.Contexts, rtol: 0, atol: 1e-5), $"copy {copy} of the context");
            }
        }
    }

    [Fact]
    public void WithoutNoiseTheCopiesStayEqualAfterATrainingStepAndNoiseSeparatesThem()
    {
        using NewLlmModel model = Model(layers: 2, context: 4, scale: 0.1);
        using NewLlmModel wider = model.ExpandContext(8, ContextExpansion.Replicate);
        wider.train();
        using var optimizer = optim.Adam(wider.parameters(), 0.01);
        using var generator = new Generator(3);
        using Tensor ids = randint(1, 23, [4, 20], generator: generator, dtype: ScalarType.Int64);
        using (var scope = NewDisposeScope())
        {
            optimizer.zero_grad();
            Tensor logits = wider.call(ids.narrow(1, 0, 19));
            nn.functional.cross_entropy(logits.reshape(-1, 23), ids.narrow(1, 1, 19).reshape(-1)).backward();
            optimizer.step();
        }

        var after = Parameters(wider);
        Assert.False(after["context_update.weight"].narrow(0, 0, 4).allclose(Parameters(model)["context_update.weight"]), "the step changed the weights");
        foreach (string name in Heads.SelectMany(h => new[] { $"{h}.weight", $"{h}.bias" }).Append("context_norm.weight").Append("context_norm.bias"))
        {
            Assert.True(after[name].narrow(0, 0, 4).allclose(after[name].narrow(0, 4, 4), rtol: 0, atol: 1e-6), $"{name}: the copies stay equal");
        }

        Tensor first = after["fnn_layers.0.weight"].narrow(1, 7, 4), second = after["fnn_layers.0.weight"].narrow(1, 11, 4);
        Assert.True(first.allclose(second, rtol: 0, atol: 1e-6), "the first layer's context columns stay equal");

        using NewLlmModel noisy = model.ExpandContext(8, ContextExpansion.Replicate, noiseStd: 0.01, seed: 1);
        Tensor update = Parameters(noisy)["context_update.weight"];
        Assert.True(update.narrow(0, 0, 4).eq(Parameters(model)["context_update.weight"]).all().item<bool>(), "the first copy is the trained dimension");
        Assert.False(update.narrow(0, 4, 4).allclose(update.narrow(0, 0, 4)), "the second copy has noise");
        using NewLlmModel again = model.ExpandContext(8, ContextExpansion.Replicate, noiseStd: 0.01, seed: 1);
        Assert.True(Parameters(again)["context_update.weight"].eq(update).all().item<bool>(), "seeded noise repeats");
    }

    [Fact]
    public void SizesThatCannotWorkAreRefusedWithTheReason()
    {
        using NewLlmModel model = Model(layers: 1, context: 4);
        var multiple = Assert.Throws<ArgumentException>(() => model.ExpandContext(10, ContextExpansion.Replicate));
        Assert.Contains("10 is not a multiple of 4", multiple.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ExpandContext(4));
        Assert.Throws<ArgumentException>(() => model.ExpandContext(8, ContextExpansion.Original, noiseStd: 0.1));
        using NewLlmModel odd = model.ExpandContext(10); // the original's rule takes any larger size
        Assert.Equal(10, odd.Options.ContextDim);
    }
}
