using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary><see cref="NewLlmModel.NextTokenLoss(Tensor, long)"/>, chunked, against cross-entropy of the full logits: loss, counts and gradients.</summary>
public class NextTokenLossTests
{
    [Fact]
    public void TiedLogitsCountTheFirstMaximumAsTheArgmaxAsTorchArgmaxDoes()
    {
        using var scope = NewDisposeScope();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 12, NumLayers = 1, EmbedDim = 4, HiddenDim = 8, ContextDim = 4, Dropout = 0 });
        using (no_grad())
        {
            var output = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            output["token_output.weight"].zero_();
            output["token_output.bias"].zero_().index_fill_(0, tensor(new long[] { 3, 5 }), 1.0);   // every position's logits tie at 3 and 5
        }

        Tensor targets = tensor(new long[,] { { 3, 5, 3, 7, 3, 0 } });
        using NewLlmLoss loss = model.NextTokenLoss(zeros_like(targets).add_(2), targets, 0, chunkRows: 4);

        Assert.Equal(0, model.call(zeros_like(targets)).argmax(-1).ne(3).sum().item<long>());   // torch's argmax: the first
        Assert.Equal(5, loss.TokenCount);
        Assert.Equal(3, loss.CorrectCount);   // the 3s, not the 5
    }

    [Theory]
    [InlineData(1000, 1, 6, 17, null, false)]    // the word vocabulary, the chunk the model chooses (one chunk here)
    [InlineData(1000, 2, 6, 17, 7L, false)]      // chunks that do not divide the counted positions
    [InlineData(1000, 1, 6, 17, 5L, true)]       // padding at the ends of sequences, as in dialogues: consecutive chunks and chunks across a gap
    [InlineData(50257, 1, 3, 11, null, false)]   // the GPT-2 vocabulary, its chosen chunk (256 positions: one chunk)
    [InlineData(50257, 1, 3, 11, 4L, false)]     // and chunks of 4 positions (the last one short)
    [InlineData(50257, 1, 3, 11, 4L, true)]
    public void LossCountsAndGradientsEqualCrossEntropyOfTheFullLogits(int vocab, int layers, int batch, int time, long? chunkRows, bool trailingPadding)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(vocab + layers);
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = vocab, NumLayers = layers, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0 });
        model.train();
        (Tensor inputs, Tensor targets) = trailingPadding ? TrailingPaddedBatch(vocab, batch, time, padId: 0) : Batch(vocab, batch, time, padEvery: 4, padId: 0);

        Dictionary<string, Tensor> expectedGrads = ParameterGradients.Of(model, () => F.cross_entropy(model.call(inputs).reshape(-1, vocab), targets.reshape(-1), ignore_index: 0));
        using Tensor logits = model.call(inputs);
        float expectedLoss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index: 0).item<float>();
        Tensor expectedTokenLosses = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index: 0, reduction: nn.Reduction.None).view(batch, time);
        long expectedTokens = targets.ne(0).sum().item<long>();
        long expectedCorrect = logits.argmax(-1).eq(targets).logical_and(targets.ne(0)).sum().item<long>();

        NewLlmLoss loss = null!;
        Dictionary<string, Tensor> grads = ParameterGradients.Of(model, () =>
        {
            loss = model.NextTokenLoss(inputs, targets, 0, chunkRows);
            return loss.Loss;
        });

        Assert.Equal(expectedTokens, loss.TokenCount);
        Assert.True(expectedTokens < batch * time, "the batch has ignored targets");
        Assert.Equal(expectedCorrect, loss.CorrectCount);
        Assert.Equal(expectedLoss, loss.Loss.item<float>(), 1e-5f * expectedLoss);
        Assert.Equal(expectedLoss * expectedTokens, loss.Sum.item<float>(), 1e-5f * expectedLoss * expectedTokens);
        Assert.True((loss.TokenLosses - expectedTokenLosses).abs().max().item<float>() <= 1e-5f * expectedLoss);
        AssertClose(expectedGrads, grads, 1e-5);
    }

    [Fact]
    public void InFloat64TheLossAndGradientsAgreeToTwelveDigits()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        const int vocab = 300;
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = vocab, NumLayers = 2, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0 });
        model.to(ScalarType.Float64);
        model.train();
        (Tensor inputs, Tensor targets) = Batch(vocab, 4, 9, padEvery: 3, padId: 7);

        Dictionary<string, Tensor> expectedGrads = ParameterGradients.Of(model, () => F.cross_entropy(model.call(inputs).reshape(-1, vocab), targets.reshape(-1), ignore_index: 7));
        double expected = F.cross_entropy(model.call(inputs).reshape(-1, vocab), targets.reshape(-1), ignore_index: 7).item<double>();
        NewLlmLoss loss = null!;
        Dictionary<string, Tensor> grads = ParameterGradients.Of(model, () => (loss = model.NextTokenLoss(inputs, targets, 7, chunkRows: 5)).Loss);

        Assert.Equal(ScalarType.Float64, loss.Loss.dtype);
        Assert.Equal(expected, loss.Loss.item<double>(), 1e-12);
        AssertClose(expectedGrads, grads, 1e-12);
    }

    [Fact]
    public void TheIdsFormShiftsInputsAndTargets()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0 });
        model.eval();
        Tensor ids = randint(0, 50, new long[] { 3, 12 }, dtype: ScalarType.Int64);
        using var noGrad = no_grad();

        using NewLlmLoss shifted = model.NextTokenLoss(ids);
        using NewLlmLoss given = model.NextTokenLoss(ids.narrow(1, 0, 11), ids.narrow(1, 1, 11), 0);

        Assert.Equal(new long[] { 3, 11 }, shifted.TokenLosses.shape);
        Assert.Equal(given.TokenCount, shifted.TokenCount);
        Assert.Equal(given.CorrectCount, shifted.CorrectCount);
        Assert.Equal(given.Loss.item<float>(), shifted.Loss.item<float>());
    }

    [Fact]
    public void AccumulatedSumsGiveTheGradientOfTheWholeBatch()
    {
        // The trainer's gradient accumulation: each part's Sum divided by the tokens of all parts.
        using var scope = NewDisposeScope();
        torch.manual_seed(8);
        const int vocab = 40;
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = vocab, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0 });
        model.train();
        (Tensor inputs, Tensor targets) = Batch(vocab, 6, 7, padEvery: 5, padId: 0);
        Dictionary<string, Tensor> whole = ParameterGradients.Of(model, () => model.NextTokenLoss(inputs, targets, 0).Loss);

        model.zero_grad();
        long total = targets.ne(0).sum().item<long>();
        for (int part = 0; part < 2; part++)
        {
            using NewLlmLoss loss = model.NextTokenLoss(inputs.narrow(0, 3 * part, 3), targets.narrow(0, 3 * part, 3), 0);
            loss.Sum.div(total).backward();
        }

        AssertClose(whole, ParameterGradients.Snapshot(model), 1e-5);
    }

    [Fact]
    public void WhenEveryTargetIsIgnoredTheLossIsZeroAndSoAreTheGradients()
    {
        using var scope = NewDisposeScope();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 30, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 1 });
        Tensor inputs = randint(1, 30, new long[] { 2, 5 }, dtype: ScalarType.Int64);
        Tensor targets = zeros(new long[] { 2, 5 }, dtype: ScalarType.Int64);

        Dictionary<string, Tensor> grads = ParameterGradients.Of(model, () => model.NextTokenLoss(inputs, targets, 0).Loss);

        using NewLlmLoss loss = model.NextTokenLoss(inputs, targets, 0);
        Assert.Equal(0, loss.TokenCount);
        Assert.Equal(0f, loss.Loss.item<float>());
        Assert.All(grads.Values, g => Assert.Equal(0f, g.abs().max().item<float>()));
    }

    [Fact]
    public void ARetainedGraphCanBeBackwardedAgain()
    {
        using var scope = NewDisposeScope();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 30, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 1 });
        model.train();
        Tensor ids = randint(1, 30, new long[] { 2, 6 }, dtype: ScalarType.Int64);
        using NewLlmLoss loss = model.NextTokenLoss(ids);
        loss.Loss.backward(retain_graph: true);
        Dictionary<string, Tensor> first = ParameterGradients.Snapshot(model);

        model.zero_grad();
        loss.Loss.mul(2).backward();

        AssertClose(first.ToDictionary(p => p.Key, p => p.Value.mul(2)), ParameterGradients.Snapshot(model), 1e-6);
    }

    [Fact]
    public void BadTargetsAreRefusedWithTheReason()
    {
        using var scope = NewDisposeScope();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 30, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 1 });
        Tensor inputs = randint(1, 30, new long[] { 2, 5 }, dtype: ScalarType.Int64);

        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => model.NextTokenLoss(inputs, full(new long[] { 2, 5 }, 30L, dtype: ScalarType.Int64), 0));
        Assert.Contains("Target 30 is outside the vocabulary [0, 30)", outside.Message);
        var shape = Assert.Throws<ArgumentException>(() => model.NextTokenLoss(inputs, zeros(new long[] { 2, 4 }, dtype: ScalarType.Int64), 0));
        Assert.Contains("Targets have shape [2, 4]", shape.Message);
        var tooShort = Assert.Throws<ArgumentException>(() => model.NextTokenLoss(inputs.narrow(1, 0, 1)));
        Assert.Contains("time >= 2", tooShort.Message);

        // An ignore id outside the vocabulary (PyTorch's -100) is fine.
        using NewLlmLoss loss = model.NextTokenLoss(inputs, full(new long[] { 2, 5 }, -100L, dtype: ScalarType.Int64), -100);
        Assert.Equal(0, loss.TokenCount);
    }

    /// <summary>Random inputs and targets in [1, vocab), every <paramref name="padEvery"/>-th target the pad id.</summary>
    private static (Tensor Inputs, Tensor Targets) Batch(int vocab, int batch, int time, int padEvery, long padId)
    {
        Tensor inputs = randint(1, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);
        Tensor targets = randint(1, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);
        Tensor pad = arange(batch * time, dtype: ScalarType.Int64).view(batch, time).remainder(padEvery).eq(0);
        return (inputs, targets.masked_fill(pad, padId));
    }

    /// <summary>Sequence i counts its first time - 3i targets (at least 1), the rest is padding.</summary>
    private static (Tensor Inputs, Tensor Targets) TrailingPaddedBatch(int vocab, int batch, int time, long padId)
    {
        Tensor inputs = randint(1, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);
        Tensor targets = randint(1, vocab, new long[] { batch, time }, dtype: ScalarType.Int64);
        Tensor lengths = tensor(Enumerable.Range(0, batch).Select(i => (long)Math.Max(1, time - (3 * i))).ToArray()).unsqueeze(1);
        Tensor pad = arange(time, dtype: ScalarType.Int64).unsqueeze(0).ge(lengths);
        return (inputs, targets.masked_fill(pad, padId));
    }

    private static void AssertClose(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual, double relative)
    {
        Assert.Equal(expected.Count, actual.Count);
        foreach ((string name, Tensor g) in expected)
        {
            double diff = (actual[name] - g).abs().max().to_type(ScalarType.Float64).item<double>();
            double largest = g.abs().max().to_type(ScalarType.Float64).item<double>();
            Assert.True(largest > 0, $"the gradient of {name} is zero: the test compares nothing");
            Assert.True(diff <= relative * largest, $"gradient of {name} differs by {diff:E3} (largest entry {largest:E3})");
        }
    }
}
