using Microsoft.ML.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>
/// The Transformer baseline's key/value-cache decoding (IIncrementalDecoder) against its full forward, and generation
/// through the common IncrementalGenerator/GenerationSession for both models.
/// </summary>
public class BaselineDecodingTests
{
    private const int Positions = 24;

    // Dropout 0.1 and left in training mode: decoding must compute the inference function anyway.
    private static TransformerBaselineModel Model(int layers = 2, double dropout = 0.1) => new(new TransformerBaselineOptions
    {
        VocabSize = 40, EmbedDim = 32, NumHeads = 4, HiddenDim = 48, NumLayers = layers, MaxSeqLength = Positions, Dropout = dropout, Seed = 11,
    });

    private static Tensor RandomIds(int batch, int time, int seed)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        return randint(0, 40, [batch, time], generator: generator, dtype: ScalarType.Int64);
    }

    // The full forward's logits at every position, in evaluation mode; the model's mode is restored.
    private static Tensor FullForwardLogits(TransformerBaselineModel model, Tensor ids)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            return model.call(ids);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(Positions)]
    public void TokenByTokenLogitsEqualTheFullForwardsLastPosition(int length)
    {
        using var model = Model();
        model.train();
        using Tensor ids = RandomIds(3, length, seed: length);
        using Tensor expected = FullForwardLogits(model, ids);
        using IDecodingState state = model.StartDecoding(3);
        for (int t = 0; t < length; t++)
        {
            using Tensor column = ids.narrow(1, t, 1);
            using Tensor logits = model.DecodeNext(column, state);
            Assert.Equal(new long[] { 3, 40 }, logits.shape);
            using Tensor reference = expected.select(1, t);
            AssertClose(reference, logits, $"position {t} of {length}");
            Assert.Equal(t + 1, state.Length);
        }

        Assert.True(model.training, "decoding left the module's mode as it was");
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(6, 1)]
    [InlineData(9, 8)]
    public void APromptAtOnceThenMoreTokensEqualsTheFullForward(int prompt, int more)
    {
        using var model = Model();
        model.train();
        using Tensor ids = RandomIds(2, prompt + more + 3, seed: 100 + prompt);
        using Tensor expected = FullForwardLogits(model, ids);
        using IDecodingState state = model.StartDecoding(2);
        using (Tensor logits = model.DecodeNext(ids.narrow(1, 0, prompt), state))
        {
            AssertClose(expected.select(1, prompt - 1), logits, "after the prompt");
        }

        // Several new positions after a cached past: each sees the past and the new ones up to itself.
        using (Tensor logits = model.DecodeNext(ids.narrow(1, prompt, more), state))
        {
            AssertClose(expected.select(1, prompt + more - 1), logits, "after a block read over a past");
        }

        for (int t = prompt + more; t < prompt + more + 3; t++)
        {
            using Tensor logits = model.DecodeNext(ids.narrow(1, t, 1), state);
            AssertClose(expected.select(1, t), logits, $"position {t}");
        }
    }

    [Fact]
    public void PassingMaxSeqLengthIsAClearErrorAndLeavesTheCacheUntouched()
    {
        using var model = Model(layers: 1);
        using IDecodingState state = model.StartDecoding();
        using Tensor ids = RandomIds(1, Positions, seed: 5);
        model.DecodeNext(ids.narrow(1, 0, Positions - 2), state).Dispose();
        var error = Assert.Throws<InvalidOperationException>(() => model.DecodeNext(ids.narrow(1, 0, 3), state));
        Assert.Contains("MaxSeqLength", error.Message, StringComparison.Ordinal);
        Assert.Equal(Positions - 2, state.Length);
        Assert.Equal(Positions, state.MaxLength);

        // The two positions left can still be read, and give the full forward's logits.
        using Tensor expected = FullForwardLogits(model, ids);
        using Tensor last = model.DecodeNext(ids.narrow(1, Positions - 2, 2), state);
        AssertClose(expected.select(1, Positions - 1), last, "the last position");
    }

    [Fact]
    public void CacheGrowsWithLengthAndNewLlmStateDoesNot()
    {
        using var baseline = Model(layers: 2);
        using IDecodingState cache = baseline.StartDecoding(2);
        using var newLlm = new NewLlmModel(new NewLlmOptions { VocabSize = 40, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Seed = 1 });
        using IDecodingState context = ((IIncrementalDecoder)newLlm).StartDecoding(2);
        long contextBytes = context.SizeInBytes;
        Assert.Equal(2 * 8 * sizeof(float), contextBytes);
        Assert.Null(context.MaxLength);

        var cacheBytes = new List<long>();
        using Tensor ids = RandomIds(2, Positions, seed: 8);
        for (int t = 0; t < Positions; t++)
        {
            using Tensor column = ids.narrow(1, t, 1);
            baseline.DecodeNext(column, cache).Dispose();
            ((IIncrementalDecoder)newLlm).DecodeNext(column, context).Dispose();
            cacheBytes.Add(cache.SizeInBytes);
            Assert.Equal(contextBytes, context.SizeInBytes);
            Assert.Equal(t + 1, context.Length);
        }

        // Keys and values of 2 layers, batch 2, embed 32 (4 heads of 8), float32: 16 positions, then all 24.
        long perPosition = 2 * 2 * 2 * 32 * sizeof(float);
        Assert.Equal(16 * perPosition, cacheBytes[0]);
        Assert.Equal(16 * perPosition, cacheBytes[15]);
        Assert.Equal(Positions * perPosition, cacheBytes[^1]);
    }

    [Fact]
    public void AStateOfAnotherModelOrBatchIsRefused()
    {
        using var model = Model(layers: 1);
        using var other = Model(layers: 1);
        using IDecodingState foreign = other.StartDecoding();
        using IDecodingState pair = model.StartDecoding(2);
        using Tensor ids = RandomIds(1, 1, seed: 1);
        Assert.Contains("StartDecoding", Assert.Throws<ArgumentException>(() => model.DecodeNext(ids, foreign)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.DecodeNext(ids, pair));
        using var newLlm = new NewLlmModel(new NewLlmOptions { VocabSize = 40, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Seed = 1 });
        Assert.Throws<ArgumentException>(() => ((IIncrementalDecoder)newLlm).DecodeNext(ids, foreign));
    }

    [Fact]
    public void GreedyGenerationFollowsTheArgmaxOfTheFullForward()
    {
        using var model = Model(dropout: 0.1);
        model.train();
        var generator = new IncrementalGenerator(model);
        int[] prompt = [3, 7, 1, 30];
        int[] produced = generator.Generate(prompt, new GenerationOptions { Greedy = true, MaxNewTokens = 12 }).ToArray();
        Assert.Equal(12, produced.Length);
        var sequence = prompt.Select(x => (long)x).ToList();
        foreach (int token in produced)
        {
            using Tensor ids = tensor(sequence.ToArray(), dtype: ScalarType.Int64).reshape(1, -1);
            using Tensor logits = FullForwardLogits(model, ids);
            Assert.Equal(logits[0, -1].argmax().item<long>(), token);
            sequence.Add(token);
        }

        Assert.True(model.training);
    }

    [Fact]
    public void ASessionReportsItsStateAndStopsAtTheModelsPositions()
    {
        using var model = Model(layers: 1);
        using var session = new GenerationSession(model);
        var generator = new IncrementalGenerator(model);
        _ = generator.Generate([1, 2, 3], new GenerationOptions { Greedy = true, MaxNewTokens = 5 }, session).ToArray();
        Assert.Equal(8, session.TokensSeen);
        Assert.Equal(8, session.State.Length);
        Assert.True(session.State.SizeInBytes > 0);
        Assert.Throws<InvalidOperationException>(() => session.Context);

        // 9 positions read after the prompt [4]: 15 more tokens are read and a 16th is generated from the last position.
        int[] rest = generator.Generate([4], new GenerationOptions { Greedy = true, MaxNewTokens = Positions }, session).ToArray();
        Assert.Equal(Positions - 9 + 1, rest.Length);
        Assert.Equal(GenerationStopReason.PositionLimit, session.StopReason);
        Assert.Equal(Positions, session.State.Length);
        var error = Assert.Throws<ArgumentException>(() => generator.Generate([], new GenerationOptions { Greedy = true }, session));
        Assert.Contains($"all the model's {Positions} positions", error.Message, StringComparison.Ordinal);
    }

    // 15 tokens fill the positions after the prompt's; the 16th is generated from the last one and not read.
    [Theory]
    [InlineData(15, 15, GenerationStopReason.MaxNewTokens)]
    [InlineData(16, 16, GenerationStopReason.PositionLimit)]
    [InlineData(40, 16, GenerationStopReason.PositionLimit)]
    public void AOneTokenPromptGeneratesAsManyTokensAsTheModelHasPositions(int maxNewTokens, int expected, GenerationStopReason reason)
    {
        using var model = new TransformerBaselineModel(new TransformerBaselineOptions
        {
            VocabSize = 40, EmbedDim = 32, NumHeads = 4, HiddenDim = 48, NumLayers = 1, MaxSeqLength = 16, Seed = 3,
        });
        var generator = new IncrementalGenerator(model);
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = maxNewTokens, StopAtEndOfSequence = false };
        using var session = new GenerationSession(model);
        int[] produced = generator.Generate([1], options, session).ToArray();
        Assert.Equal(expected, produced.Length);
        Assert.Equal(reason, session.StopReason);

        // The same tokens as the full forward's argmax, the last one from the 16th position.
        var sequence = new List<long> { 1 };
        foreach (int token in produced)
        {
            using Tensor ids = tensor(sequence.ToArray(), dtype: ScalarType.Int64).reshape(1, -1);
            using Tensor logits = FullForwardLogits(model, ids);
            Assert.Equal(logits[0, -1].argmax().item<long>(), token);
            sequence.Add(token);
        }

        // Text keeps what was generated: GPT-2's first 40 ids are one printable character each ("A" is one of them).
        var gpt2 = TiktokenTokenizer.CreateForModel("gpt2");
        Assert.Single(gpt2.EncodeToIds("A"));
        using var textSession = new GenerationSession(model);
        string text = generator.GenerateText(gpt2, "A", options, textSession);
        Assert.Equal(expected, text.Length);
        Assert.Equal(reason, textSession.StopReason);
    }

    [Fact]
    public void APromptLongerThanThePositionsIsRefusedBeforeAnythingIsRead()
    {
        using var model = Model(layers: 1);
        var generator = new IncrementalGenerator(model);
        int[] prompt = Enumerable.Range(1, Positions + 4).ToArray();
        var error = Assert.Throws<ArgumentException>(() => generator.Generate(prompt, new GenerationOptions()));
        Assert.Contains($"The prompt has {Positions + 4} tokens, the model {Positions} positions", error.Message, StringComparison.Ordinal);

        using var session = new GenerationSession(model);
        _ = generator.Generate(Enumerable.Range(1, 20).ToArray(), new GenerationOptions { Greedy = true, MaxNewTokens = 1 }, session).ToArray();
        error = Assert.Throws<ArgumentException>(() => generator.Generate([1, 2, 3, 4], new GenerationOptions(), session));
        Assert.Contains("The prompt has 4 tokens after the 21 the session has read, the model 24 positions", error.Message, StringComparison.Ordinal);
        Assert.Equal(21, session.State.Length);
    }

    [Fact]
    public void NewLlmGeneratorIsTheIncrementalGeneratorOfANewLlm()
    {
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 40, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Seed = 4 });
        var options = new GenerationOptions { Seed = 3, MaxNewTokens = 20, Temperature = 1.3 };
        int[] viaNewLlm = new NewLlmGenerator(model).Generate([5, 6], options).ToArray();
        int[] viaIncremental = new IncrementalGenerator(model).Generate([5, 6], options).ToArray();
        Assert.Equal(viaNewLlm, viaIncremental);
        using var session = new GenerationSession(model);
        session.Feed(5);
        Assert.Equal(new long[] { 1, 8 }, session.Context.shape);
        Assert.Equal(8 * sizeof(float), session.State.SizeInBytes);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string where)
    {
        double difference = (expected - actual).abs().max().item<float>();
        Assert.True(difference <= 1e-5, $"{where}: logits differ by {difference:G3} (more than 1e-5)");
    }
}
