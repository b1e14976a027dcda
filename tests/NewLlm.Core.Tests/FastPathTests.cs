using NewLlm.Testing;
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
    [InlineData(2, 70, 6, 30, 8, 16, 8)]   // enough rows for the time loops to split the batch across threads
    [InlineData(2, 40, 2, 100, 8, 16, 8)]  // a table row per position (vocabulary > positions), split across threads
    [InlineData(3, 70, 40, 30, 8, 16, 8)]  // each row thread forms its weight gradients over several blocks of positions, the last one partial
    public void ForwardAndGradientsEqualDirectPort(int layers, int batch, int time, int vocab, int embed, int hidden, int context)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(1234 + layers);
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = layers, VocabSize = vocab, EmbedDim = embed, HiddenDim = hidden, ContextDim = context, Dropout = 0 });
        Tensor ids = randint(0, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);

        Tensor fast = model.call(ids);
        Tensor oracle = DirectPortModel.Forward(model, model.Options.Dropout, ids);
        Assert.True((fast - oracle).abs().max().item<float>() <= 1e-5f);

        Tensor targets = randint(0, vocab, new long[] { batch * time }, dtype: ScalarType.Int64);
        Dictionary<string, Tensor> fastGrads = ParameterGradients.Of(model, () => F.cross_entropy(model.call(ids).reshape(-1, vocab), targets, ignore_index: 0));
        Dictionary<string, Tensor> oracleGrads = ParameterGradients.Of(model, () => F.cross_entropy(DirectPortModel.Forward(model, model.Options.Dropout, ids).reshape(-1, vocab), targets, ignore_index: 0));
        AssertClose(fastGrads, oracleGrads);
    }

    [Theory]
    [InlineData(1, 3, 7, 0.3)]
    [InlineData(3, 2, 5, 0.1)]
    [InlineData(2, 1, 40, 0.5)]
    [InlineData(1, 37, 4, 0.2)]
    [InlineData(2, 70, 19, 0.1)]   // enough rows for the time loops to split the batch across threads
    public void TrainingWithDropoutEqualsDirectPortFedTheSameMasks(int layers, int batch, int time, double dropout)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(99 + layers);
        const int vocab = 23, hidden = 16;
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = layers, VocabSize = vocab, EmbedDim = 12, HiddenDim = hidden, ContextDim = 10, Dropout = dropout });
        model.train();
        AssertEqualsDirectPortFedTheSameMasks(model, batch, time, forwardTolerance: 1e-5, seed: 5);
    }

    [Fact]
    public void GradientsAreTheSameBitForBitOnEveryRun()
    {
        // Same inputs and seed, bit-identical gradients: no race between the row threads, no buffer read before it is written.
        using var scope = NewDisposeScope();
        torch.manual_seed(77);
        const int vocab = 29;
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = 2, VocabSize = vocab, EmbedDim = 8, HiddenDim = 24, ContextDim = 12, Dropout = 0.2 });
        model.train();
        Tensor ids = randint(0, vocab, new long[] { 64, 9 }, dtype: ScalarType.Int64);
        Tensor targets = randint(0, vocab, new long[] { 64 * 9 }, dtype: ScalarType.Int64);
        Dictionary<string, Tensor> Run()
        {
            torch.manual_seed(3);
            return ParameterGradients.Of(model, () => F.cross_entropy(model.call(ids).reshape(-1, vocab), targets, ignore_index: 0));
        }

        Dictionary<string, Tensor> first = Run();
        for (int run = 0; run < 5; run++)
        {
            foreach ((string name, Tensor g) in Run())
            {
                Assert.True(g.eq(first[name]).all().item<bool>(), $"gradient of {name} differs between runs");
            }
        }
    }

    [Theory]
    [InlineData(1, 3, 7)]
    [InlineData(2, 40, 6)]   // enough rows for the time loops to split the batch across threads
    public void Float64TakesTheOperatorPathAndEqualsTheDirectPort(int layers, int batch, int time)
    {
        // The fused kernels are float32-on-the-CPU only; other dtypes (and devices) run the loops as libtorch operators.
        using var scope = NewDisposeScope();
        torch.manual_seed(41 + layers);
        const int vocab = 23, hidden = 16;
        const double dropout = 0.2;
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = layers, VocabSize = vocab, EmbedDim = 12, HiddenDim = hidden, ContextDim = 10, Dropout = dropout });
        model.to(ScalarType.Float64);
        model.train();
        Tensor fast = AssertEqualsDirectPortFedTheSameMasks(model, batch, time, forwardTolerance: 1e-10, seed: 8);
        Assert.Equal(ScalarType.Float64, fast.dtype);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    public void DropoutMasksKeepOneMinusPScaledLikeFDropout(double dropout)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(11);
        Tensor masks = DropoutMask.Draw(dropout, 2, 64, 100).ToTensor(50);   // [T 50, L 2, B 64, H 100]: 640,000 draws
        Tensor kept = masks.ne(0);
        double keepRate = kept.to_type(ScalarType.Float64).mean().item<double>();
        Assert.True(Math.Abs(keepRate - (1 - dropout)) < 0.005, $"keep rate {keepRate}, expected {1 - dropout}");
        float scale = (float)(1 / (1 - dropout));
        Assert.Equal(0f, (masks.masked_select(kept) - scale).abs().max().item<float>());

        // Same distribution as F.dropout's masks: keep rate and scale.
        Tensor reference = F.dropout(ones(50, 2, 64, 100), dropout, true);
        double referenceRate = reference.ne(0).to_type(ScalarType.Float64).mean().item<double>();
        Assert.True(Math.Abs(keepRate - referenceRate) < 0.005, $"keep rate {keepRate}, F.dropout's {referenceRate}");
        Assert.Equal(0f, (reference.masked_select(reference.ne(0)) - scale).abs().max().item<float>());
    }

    [Fact]
    public void EvalModeAndZeroDropoutEqualTheDirectPortExactly()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(17);
        const int vocab = 21;
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = 2, VocabSize = vocab, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0.5 });
        Tensor ids = randint(0, vocab, new long[] { 40, 9 }, dtype: ScalarType.Int64);
        model.eval();
        Tensor fastEval = model.call(ids);
        Assert.True((fastEval - DirectPortModel.Forward(model, model.Options.Dropout, ids)).abs().max().item<float>() <= 1e-5f);
        using (torch.enable_grad())
        {
            // Eval mode with gradients on goes through the training path with dropout 0.
            Tensor fastGradPath = model.call(ids);
            Assert.True((fastGradPath - DirectPortModel.Forward(model, model.Options.Dropout, ids)).abs().max().item<float>() <= 1e-5f);
        }
    }

    [Theory]
    [InlineData(1, 1, 33)]
    [InlineData(2, 3, 6)]
    public void ContextsAndInitialStateGetTheDirectPortsGradients(int layers, int batch, int time)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(31 + layers);
        const int vocab = 19;
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = layers, VocabSize = vocab, EmbedDim = 8, HiddenDim = 12, ContextDim = 6, Dropout = 0 });
        Tensor ids = randint(0, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);
        Tensor start = (randn(batch, 6) * 3).requires_grad_();
        Tensor logitWeights = randn(batch, time, vocab);
        Tensor contextWeights = randn(batch, time, 6);

        // A loss that reads both outputs, so the gradient flows into the contexts from outside too.
        Tensor Loss(Tensor logits, Tensor contexts) => (logits * logitWeights).sum() + (contexts * contexts * contextWeights).sum();

        model.zero_grad();
        using NewLlmForwardResult fast = model.ForwardWithContexts(ids, new NewLlmState(start));
        Loss(fast.Logits, fast.Contexts).backward();
        Dictionary<string, Tensor> fastGrads = ParameterGradients.Snapshot(model);
        Tensor fastStartGrad = start.grad!.clone();

        start.grad!.zero_();
        model.zero_grad();
        (Tensor logits, Tensor contexts) = DirectPortModel.ForwardWithContexts(model, model.Options.Dropout, ids, start);
        Assert.True((fast.Logits - logits).abs().max().item<float>() <= 1e-5f);
        Assert.True((fast.Contexts - contexts).abs().max().item<float>() <= 1e-5f);
        Loss(logits, contexts).backward();
        AssertClose(fastGrads, ParameterGradients.Snapshot(model));
        double startDiff = (fastStartGrad - start.grad!).abs().max().item<float>();
        Assert.True(startDiff <= 1e-4, $"gradient of the initial state differs by {startDiff:E3}");
    }

    [Fact]
    public void SaturatedContextsStopTheGradientLikeClamp()
    {
        // Large weights drive the LayerNorm output beyond the clamp, so the clamp mask matters.
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        const int vocab = 17;
        using var model = new NewLlmModel(new NewLlmOptions { NumLayers = 1, VocabSize = vocab, EmbedDim = 8, HiddenDim = 16, ContextDim = 4, Dropout = 0 });
        using (torch.no_grad())
        {
            model.get_parameter("context_norm.weight")!.mul_(30);
        }

        Tensor ids = randint(0, vocab, new long[] { 3, 8 }, dtype: ScalarType.Int64);
        Tensor targets = randint(0, vocab, new long[] { 24 }, dtype: ScalarType.Int64);
        Tensor contexts = model.ForwardWithContexts(ids).Contexts;
        Assert.True(contexts.abs().eq(10).any().item<bool>(), "no context was clamped");
        Dictionary<string, Tensor> fastGrads = ParameterGradients.Of(model, () => F.cross_entropy(model.call(ids).reshape(-1, vocab), targets));
        Dictionary<string, Tensor> oracleGrads = ParameterGradients.Of(model, () => F.cross_entropy(DirectPortModel.Forward(model, model.Options.Dropout, ids).reshape(-1, vocab), targets));
        AssertClose(fastGrads, oracleGrads);
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

    /// <summary>Dropout masks [T, L, B, H] as the fast path draws them from the global generator, in the model's dtype.</summary>
    private static Tensor DropoutMasks(NewLlmModel model, long batch, long time, ScalarType dtype) =>
        DropoutMask.Draw(model.Options.Dropout, model.Options.NumLayers, batch, model.Options.HiddenDim).ToTensor(time).to(dtype);

    /// <summary>
    /// The model in training mode against the direct port fed the masks the fast path draws after the same seed: the
    /// forward within <paramref name="forwardTolerance"/>, every gradient within <see cref="AssertClose"/>'s bounds.
    /// Returns the fast path's logits.
    /// </summary>
    private static Tensor AssertEqualsDirectPortFedTheSameMasks(NewLlmModel model, int batch, int time, double forwardTolerance, long seed)
    {
        int vocab = model.Options.VocabSize;
        Tensor ids = randint(0, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);
        Tensor targets = randint(0, vocab, new long[] { batch * time }, dtype: ScalarType.Int64);
        ScalarType dtype = model.parameters().First().dtype;

        torch.manual_seed(seed);
        Tensor fast = model.call(ids).detach();
        torch.manual_seed(seed);
        Tensor oracle = DirectPortModel.ForwardWithMasks(model, ids, DropoutMasks(model, batch, time, dtype)).detach();
        double forwardDiff = (fast - oracle).abs().max().to_type(ScalarType.Float64).item<double>();
        Assert.True(forwardDiff <= forwardTolerance, $"the forward differs from the direct port's by {forwardDiff:E3}: the dropout masks differ");

        torch.manual_seed(seed + 1);
        Dictionary<string, Tensor> fastGrads = ParameterGradients.Of(model, () => F.cross_entropy(model.call(ids).reshape(-1, vocab), targets, ignore_index: 0));
        torch.manual_seed(seed + 1);
        Tensor masks = DropoutMasks(model, batch, time, dtype);
        Dictionary<string, Tensor> oracleGrads = ParameterGradients.Of(model, () => F.cross_entropy(DirectPortModel.ForwardWithMasks(model, ids, masks).reshape(-1, vocab), targets, ignore_index: 0));
        AssertClose(fastGrads, oracleGrads);
        return fast;
    }

    private static void AssertClose(Dictionary<string, Tensor> fastGrads, Dictionary<string, Tensor> oracleGrads)
    {
        Assert.Equal(oracleGrads.Count, fastGrads.Count);
        foreach ((string name, Tensor g) in oracleGrads)
        {
            // 1e-4 absolute, relative to the largest entry once gradients exceed 1 (float sums over long sequences).
            double diff = (fastGrads[name] - g).abs().max().to_type(ScalarType.Float64).item<double>();
            double largest = g.abs().max().to_type(ScalarType.Float64).item<double>();
            Assert.True(diff <= 1e-4 * Math.Max(1.0, largest), $"gradient of {name} differs by {diff:E3} (largest entry {largest:E3})");
        }
    }
}
