using NewLlm.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>What both models share through <see cref="LanguageModel"/>, and the baseline matched to a New-LLM model's size.</summary>
public class LanguageModelTests
{
    private static TransformerBaselineOptions SmallBaseline() => new()
    {
        VocabSize = 50, EmbedDim = 32, NumHeads = 4, HiddenDim = 64, NumLayers = 2, MaxSeqLength = 16, Dropout = 0.0, Seed = 3,
    };

    [Theory]
    [InlineData(1000, 1, 256, 256, 512)] // the main job's model: 1 layer, the original's sizes
    [InlineData(1000, 1, 512, 256, 512)]
    [InlineData(1000, 4, 256, 256, 512)]
    [InlineData(1000, 2, 128, 128, 256)]
    [InlineData(50_257, 1, 256, 256, 512)] // GPT-2's vocabulary
    [InlineData(5_000, 8, 1024, 256, 512)]
    public void TheMatchedBaselineHasWithinFivePercentOfNewLlmsParameters(int vocab, int layers, int context, int embed, int hidden)
    {
        var newLlm = new NewLlmOptions { VocabSize = vocab, NumLayers = layers, ContextDim = context, EmbedDim = embed, HiddenDim = hidden };
        TransformerBaselineOptions baseline = TransformerBaselineOptions.MatchingParameterCount(newLlm, numHeads: 4, numLayers: null, maxSeqLength: 128);

        double difference = Math.Abs(baseline.ParameterCount - newLlm.ParameterCount) / (double)newLlm.ParameterCount;
        Assert.True(difference <= 0.05, $"baseline {baseline} has {baseline.ParameterCount:N0} parameters, New-LLM {newLlm.ParameterCount:N0} ({difference:P1})");
        Assert.Equal((vocab, layers, 4, 128), (baseline.VocabSize, baseline.NumLayers, baseline.NumHeads, baseline.MaxSeqLength));
        Assert.Equal(0, baseline.EmbedDim % 4);
        Assert.Equal(4 * baseline.EmbedDim, baseline.HiddenDim);
    }

    [Fact]
    public void TheMatchedBaselinesCountIsThatOfTheModelBuiltFromIt()
    {
        TransformerBaselineOptions baseline = TransformerBaselineOptions.MatchingParameterCount(new NewLlmOptions { VocabSize = 300 }, numHeads: 2, numLayers: 2, maxSeqLength: 64);
        using var model = new TransformerBaselineModel(baseline);
        Assert.Equal(model.ParameterCount, baseline.ParameterCount);
        Assert.Equal(2, baseline.NumLayers);
        using var newLlm = new NewLlmModel(new NewLlmOptions { VocabSize = 300 });
        Assert.Equal(newLlm.ParameterCount, newLlm.Options.ParameterCount);
    }

    [Fact]
    public void NoBaselineWithinTheToleranceIsRefusedSayingWhatToChange()
    {
        // Ten thousand positions of even the narrowest embedding outweigh this New-LLM model many times over.
        var tiny = new NewLlmOptions { VocabSize = 10, EmbedDim = 2, HiddenDim = 2, ContextDim = 2 };
        var error = Assert.Throws<ArgumentException>(() => TransformerBaselineOptions.MatchingParameterCount(tiny, numHeads: 4, numLayers: null, maxSeqLength: 10_000));
        Assert.Contains("fewer layers, heads or positions", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => TransformerBaselineOptions.MatchingParameterCount(new NewLlmOptions(), numHeads: 0, numLayers: null, maxSeqLength: 32));
    }

    [Fact]
    public void BothModelsSayTheirTypeVocabularyBoundAndSize()
    {
        using var baseline = new TransformerBaselineModel(SmallBaseline());
        using var newLlm = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Seed = 1 });
        LanguageModel[] models = [baseline, newLlm];
        Assert.Equal([LanguageModel.TransformerBaselineType, LanguageModel.NewLlmType], models.Select(m => m.ModelType));
        Assert.Equal([50, 50], models.Select(m => m.VocabSize));
        Assert.Equal([16, (int?)null], models.Select(m => m.MaxSequenceLength));
        Assert.Equal(baseline.Options.ParameterCount, baseline.ParameterCount);
        Assert.Contains("NumHeads=4", baseline.OptionsDescription, StringComparison.Ordinal);
        Assert.Contains("ContextDim=8", newLlm.OptionsDescription, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBaselinesBFloat16ProductsGiveTheFloat32LossToBFloat16PrecisionAndTrainEveryParameter()
    {
        using var model = new TransformerBaselineModel(SmallBaseline());
        using Tensor ids = randint(1, 50, [3, 12], generator: new Generator(5), dtype: ScalarType.Int64);
        float full;
        using (NewLlmLoss loss = model.NextTokenLoss(ids))
        {
            full = loss.Loss.item<float>();
        }

        Assert.Throws<ArgumentException>(() => model.ComputeDType = ScalarType.Float16);
        model.ComputeDType = ScalarType.BFloat16;
        using (NewLlmLoss mixed = model.NextTokenLoss(ids))
        {
            Assert.Equal(ScalarType.Float32, mixed.Loss.dtype);
            Assert.NotEqual(full, mixed.Loss.item<float>()); // the products really ran in bfloat16
            Assert.Equal(full, mixed.Loss.item<float>(), 0.02f);
            mixed.Loss.backward();
        }

        foreach ((string name, Tensor parameter) in model.named_parameters())
        {
            Assert.True(parameter.grad is { } grad && grad.dtype == ScalarType.Float32 && grad.isfinite().all().item<bool>() && grad.abs().sum().item<float>() > 0, $"{name} has no finite float32 gradient");
        }

        using (no_grad())
        using (NewLlmLoss evaluation = model.NextTokenLoss(ids))
        {
            Assert.Equal(full, evaluation.Loss.item<float>()); // without gradients the weights' own dtype, exactly
        }
    }

    [Fact]
    public void APyTorchFileOpensAsTheModelItHolds()
    {
        using var temp = new TempDirectory();
        using var baseline = new TransformerBaselineModel(SmallBaseline());
        using var newLlm = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Seed = 1 });
        foreach (LanguageModel model in new LanguageModel[] { baseline, newLlm })
        {
            string path = Path.Combine(temp.Path, model.ModelType + ".pt");
            model.SavePyTorch(path);
            using LanguageModel loaded = LanguageModel.LoadFromPyTorch(path);
            Assert.Equal(model.GetType(), loaded.GetType());
            Assert.False(loaded.training);
            foreach ((string name, Tensor value) in model.state_dict())
            {
                Assert.True(value.eq(loaded.state_dict()[name]).all().item<bool>(), $"{model.ModelType}: {name} differs");
            }
        }
    }
}
