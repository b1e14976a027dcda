using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary>The model's restructured forward against the direct per-position port (the oracle), values and gradients.</summary>
public class FastPathTests
{
    [Theory]
    [InlineData(1, 3, 5, 37, 16, 24, 20)]
    [InlineData(2, 4, 9, 50, 12, 32, 8)]
    [InlineData(4, 2, 1, 11, 8, 8, 8)]
    public void ForwardAndGradientsEqualDirectPort(int layers, int batch, int time, int vocab, int embed, int hidden, int context)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1234 + layers);
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = layers, VocabSize = vocab, EmbedDim = embed, HiddenDim = hidden, ContextDim = context, Dropout = 0 });
        Tensor ids = randint(0, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);

        Tensor fast = model.call(ids);
        Tensor oracle = DirectPortModel.Forward(model, ids);
        Assert.True((fast - oracle).abs().max().item<float>() <= 1e-5f);

        Tensor targets = randint(0, vocab, new long[] { batch * time }, dtype: ScalarType.Int64);
        Dictionary<string, Tensor> fastGrads = Gradients(model, () => F.cross_entropy(model.call(ids).reshape(-1, vocab), targets, ignore_index: 0));
        Dictionary<string, Tensor> oracleGrads = Gradients(model, () => F.cross_entropy(DirectPortModel.Forward(model, ids).reshape(-1, vocab), targets, ignore_index: 0));
        foreach ((string name, Tensor g) in oracleGrads)
        {
            double diff = (fastGrads[name] - g).abs().max().item<float>();
            Assert.True(diff <= 1e-4, $"gradient of {name} differs by {diff:E3}");
        }
    }

    [Fact]
    public void TrainingModeAppliesDropoutAndEvalModeDoesNot()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(7);
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 20, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0.5 });
        Tensor ids = randint(0, 20, new long[] { 2, 6 }, dtype: ScalarType.Int64);
        model.eval();
        Tensor a = model.call(ids);
        Tensor b = model.call(ids);
        Assert.Equal(0f, (a - b).abs().max().item<float>());
        model.train();
        Tensor c = model.call(ids);
        Assert.True((a - c).abs().max().item<float>() > 1e-4f);
    }

    private static Dictionary<string, Tensor> Gradients(NewLlmModel model, Func<Tensor> loss)
    {
        model.zero_grad();
        loss().backward();
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad is null ? zeros_like(p.parameter) : p.parameter.grad.clone());
    }
}
