using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary><see cref="NewLlmModel.WithFreshVocabulary"/>: new embedding and output layer for a vocabulary of any size, every other weight copied.</summary>
public class FreshVocabularyTests
{
    private static NewLlmModel Trained()
    {
        TorchBackend.EnsureLoaded();
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = 23, EmbedDim = 7, HiddenDim = 11, ContextDim = 5, NumLayers = 2, Seed = 4 });
        using var noGrad = no_grad();
        using var generator = new Generator(9);
        foreach (var (_, parameter) in model.named_parameters())
        {
            parameter.normal_(0, 0.3, generator); // far from the initialisation, so that a copy is told from a fresh draw
        }

        return model;
    }

    private static bool IsVocabularyLayer(string name) => name.StartsWith("token_embedding.", StringComparison.Ordinal) || name.StartsWith("token_output.", StringComparison.Ordinal);

    [Theory]
    [InlineData(23)]
    [InlineData(40)]
    [InlineData(9)]
    public void TheVocabularyLayersAreNewForTheSizeAndEveryOtherWeightIsCopied(int vocabSize)
    {
        using NewLlmModel model = Trained();
        model.eval();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using NewLlmModel fresh = model.WithFreshVocabulary(vocabSize, seed: 3);
        Assert.Equal(vocabSize, fresh.Options.VocabSize);
        Assert.Equal((2, 5, 11, 7), (fresh.Options.NumLayers, fresh.Options.ContextDim, fresh.Options.HiddenDim, fresh.Options.EmbedDim));
        Assert.False(fresh.training);
        var after = fresh.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (string name in before.Keys.Where(n => !IsVocabularyLayer(n)))
        {
            Assert.True(after[name].eq(before[name]).all().item<bool>(), $"{name} is copied");
        }

        Assert.Equal(new long[] { vocabSize, 7 }, after["token_embedding.weight"].shape);
        Assert.Equal(new long[] { vocabSize, 11 }, after["token_output.weight"].shape);
        Assert.InRange(after["token_output.weight"].std().item<float>(), 0.01, 0.03); // normal(0, 0.02), not the trained 0.3
        Assert.InRange(after["token_embedding.weight"].std().item<float>(), 0.01, 0.03);
        Assert.Equal(0f, after["token_output.bias"].abs().max().item<float>());
        foreach ((string name, Tensor value) in model.named_parameters())
        {
            Assert.True(value.eq(before[name]).all().item<bool>(), $"the original's {name} is untouched");
        }

        using Tensor ids = tensor(new long[] { 1, 2, vocabSize - 1 }, dtype: ScalarType.Int64).unsqueeze(0);
        using Tensor logits = fresh.call(ids);
        Assert.Equal(new long[] { 1, 3, vocabSize }, logits.shape);
    }

    [Fact]
    public void TheSeedDecidesTheNewLayersAndTheCopiesDoNotDependOnIt()
    {
        using NewLlmModel model = Trained();
        using NewLlmModel first = model.WithFreshVocabulary(30, seed: 1), again = model.WithFreshVocabulary(30, seed: 1), other = model.WithFreshVocabulary(30, seed: 2);
        Tensor Weight(NewLlmModel m, string name) => m.named_parameters().Single(p => p.name == name).parameter;
        Assert.True(Weight(first, "token_output.weight").eq(Weight(again, "token_output.weight")).all().item<bool>());
        Assert.False(Weight(first, "token_output.weight").allclose(Weight(other, "token_output.weight")));
        Assert.True(Weight(first, "context_update.weight").eq(Weight(other, "context_update.weight")).all().item<bool>());
        Assert.True(first.training, "a model in training mode gives one in training mode");
    }

    [Fact]
    public void DtypeIsKeptAndABadSizeIsRefused()
    {
        using NewLlmModel model = Trained();
        model.to(ScalarType.Float64);
        using NewLlmModel fresh = model.WithFreshVocabulary(12, seed: 1);
        Assert.All(fresh.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.WithFreshVocabulary(0));
    }
}
