using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

public class SeedTests
{
    private static NewLlmOptions Tiny(int? seed) => new() { VocabSize = 30, EmbedDim = 8, HiddenDim = 12, ContextDim = 6, NumLayers = 2, Seed = seed };

    [Fact]
    public void TheSameSeedGivesBitIdenticalWeightsWhateverTheGlobalGeneratorDrewBefore()
    {
        torch.manual_seed(1);
        using var first = new NewLlmModel(Tiny(seed: 42));
        torch.manual_seed(2);
        torch.rand(1000).Dispose();

        using var second = new NewLlmModel(Tiny(seed: 42));
        AssertSameParameters(first, second);
    }

    [Fact]
    public void OtherSeedsGiveOtherWeights()
    {
        torch.manual_seed(1);
        using var first = new NewLlmModel(Tiny(seed: 1));
        torch.manual_seed(1);
        using var second = new NewLlmModel(Tiny(seed: 2));
        Assert.NotEqual(Bits(first, "token_embedding.weight"), Bits(second, "token_embedding.weight"));
        Assert.NotEqual(Bits(first, "fnn_layers.3.weight"), Bits(second, "fnn_layers.3.weight"));
    }

    [Fact]
    public void WithoutASeedTheGlobalGeneratorDecidesAsBefore()
    {
        torch.manual_seed(5);
        using var first = new NewLlmModel(Tiny(seed: null));
        torch.manual_seed(5);
        using var second = new NewLlmModel(Tiny(seed: null));
        torch.manual_seed(6);
        using var third = new NewLlmModel(Tiny(seed: null));
        AssertSameParameters(first, second);
        Assert.NotEqual(Bits(first, "token_output.weight"), Bits(third, "token_output.weight"));
    }

    [Fact]
    public void SeededWeightsKeepTheOriginalsInitialisation()
    {
        using var model = new NewLlmModel(new NewLlmOptions { Seed = 3 });
        Dictionary<string, Tensor> p = model.state_dict();
        Assert.InRange(p["token_output.weight"].std().item<float>(), 0.019, 0.021);
        Assert.InRange(p["token_embedding.weight"].std().item<float>(), 0.019, 0.021);
        Assert.InRange(p["token_embedding.weight"].mean().item<float>(), -0.001, 0.001);
        Assert.Equal(0f, p["forget_gate.bias"].abs().max().item<float>());
        Assert.Equal(1f, p["context_norm.weight"].min().item<float>());
        Assert.Equal(0f, p["context_norm.bias"].abs().max().item<float>());
    }

    [Fact]
    public void ResetParametersDrawsFromTheGeneratorItIsGiven()
    {
        using var first = new NewLlmModel(Tiny(seed: null));
        using var second = new NewLlmModel(Tiny(seed: null));
        using (var generator = new torch.Generator(4))
        {
            first.ResetParameters(generator);
        }

        torch.rand(100).Dispose();
        using (var generator = new torch.Generator(4))
        {
            second.ResetParameters(generator);
        }

        AssertSameParameters(first, second);
    }

    [Fact]
    public void TheSeedIsPartOfTheOptionsTheModelKeeps()
    {
        using var model = new NewLlmModel(Tiny(seed: 9));
        Assert.Equal(9, model.Options.Seed);
        Assert.Contains("Seed=9", model.Options.ToString());
        Assert.Null(new NewLlmOptions().Seed);
    }

    [Fact]
    public void TheSeedRoundTripsThroughJsonAndOptionsWithoutItStillRead()
    {
        // The checkpoint manifest stores NewLlmOptions with snake_case names.
        var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        NewLlmOptions back = JsonSerializer.Deserialize<NewLlmOptions>(JsonSerializer.Serialize(Tiny(seed: 17), json), json)!;
        Assert.Equal(17, back.Seed);
        NewLlmOptions old = JsonSerializer.Deserialize<NewLlmOptions>("""{"vocab_size":30,"embed_dim":8,"hidden_dim":12,"context_dim":6,"num_layers":2,"dropout":0.1}""", json)!;
        Assert.Null(old.Seed);
        Assert.Equal(30, old.VocabSize);
    }

    private static void AssertSameParameters(NewLlmModel expected, NewLlmModel actual)
    {
        Dictionary<string, Tensor> a = expected.state_dict(), b = actual.state_dict();
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        foreach (string name in a.Keys)
        {
            Assert.True(Bits(expected, name).SequenceEqual(Bits(actual, name)), $"{name} differs");
        }
    }

    /// <summary>The bit patterns of a parameter's values: equal only when the values are bit for bit the same.</summary>
    private static int[] Bits(NewLlmModel model, string name) =>
        model.state_dict()[name].data<float>().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
}
