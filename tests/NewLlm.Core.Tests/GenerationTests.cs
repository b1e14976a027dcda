using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

public class GenerationTests
{
    private static NewLlmModel Model(double scale = 50)
    {
        torch.manual_seed(9);
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = 25, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0 });
        using (torch.no_grad())
        {
            foreach (Tensor p in model.parameters())
            {
                p.mul_(scale);   // sharper distributions make greedy choices clear-cut
            }
        }

        return model;
    }

    [Fact]
    public void GreedyFollowsTheArgmaxOfForward()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        int[] prompt = { 3, 7, 1 };
        int[] produced = generator.Generate(prompt, new GenerationOptions { Greedy = true, MaxNewTokens = 6 }).ToArray();
        Assert.Equal(6, produced.Length);

        // Re-derive each token with a full forward over the growing sequence.
        var sequence = new List<long>(prompt.Select(x => (long)x));
        model.eval();
        foreach (int token in produced)
        {
            using var scope = NewDisposeScope();
            Tensor logits = model.call(tensor(sequence.ToArray(), dtype: ScalarType.Int64).reshape(1, -1));
            Assert.Equal(logits[0, -1].argmax().item<long>(), token);
            sequence.Add(token);
        }
    }

    [Fact]
    public void SameSeedSameTokensOtherSeedOtherTokens()
    {
        using var model = Model(scale: 1);
        var generator = new NewLlmGenerator(model);
        int[] Run(int seed) => generator.Generate(new[] { 1 }, new GenerationOptions { Seed = seed, MaxNewTokens = 30, Temperature = 1.5 }).ToArray();
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
    }

    [Fact]
    public void TopKOfOneIsGreedy()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        int[] greedy = generator.Generate(new[] { 4, 5 }, new GenerationOptions { Greedy = true, MaxNewTokens = 10 }).ToArray();
        int[] topK = generator.Generate(new[] { 4, 5 }, new GenerationOptions { TopK = 1, Seed = 3, MaxNewTokens = 10 }).ToArray();
        int[] tinyTopP = generator.Generate(new[] { 4, 5 }, new GenerationOptions { TopP = 1e-6, Seed = 4, MaxNewTokens = 10 }).ToArray();
        Assert.Equal(greedy, topK);
        Assert.Equal(greedy, tinyTopP);
    }

    [Fact]
    public void StopSequenceEndsGenerationAndIsNotReturned()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        int[] free = generator.Generate(new[] { 2 }, new GenerationOptions { Greedy = true, MaxNewTokens = 12 }).ToArray();
        int[] stop = { free[4], free[5] };
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = 12 };
        options.StopSequences.Add(stop);
        int[] stopped = generator.Generate(new[] { 2 }, options).ToArray();
        int first = Enumerable.Range(0, free.Length - 1).First(i => free[i] == stop[0] && free[i + 1] == stop[1]);
        Assert.Equal(free[..first], stopped);
    }

    [Fact]
    public void SessionContinuesAConversation()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Greedy = true, MaxNewTokens = 5 };
        int[] all = generator.Generate(new[] { 1, 2, 3, 4 }, options).ToArray();

        using var session = new GenerationSession(model);
        int[] first = generator.Generate(new[] { 1, 2 }, new GenerationOptions { Greedy = true, MaxNewTokens = 0 }, session).ToArray();
        Assert.Empty(first);
        int[] continued = generator.Generate(new[] { 3, 4 }, options, session).ToArray();
        Assert.Equal(all, continued);
        Assert.Equal(4 + 5, session.TokensSeen);
        Assert.Equal(new long[] { 1, 8 }, session.Context.shape);
    }

    [Fact]
    public void BadOptionsAndInputsAreNamed()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        Assert.Contains("Temperature", Assert.Throws<OptionsValidationException>(() => generator.Generate(new[] { 1 }, new GenerationOptions { Temperature = 0 })).Message);
        Assert.Contains("TopP", Assert.Throws<OptionsValidationException>(() => generator.Generate(new[] { 1 }, new GenerationOptions { TopP = 1.5 })).Message);
        Assert.Contains("TopK", Assert.Throws<OptionsValidationException>(() => generator.Generate(new[] { 1 }, new GenerationOptions { TopK = -1 })).Message);
        Assert.Throws<ArgumentException>(() => generator.Generate(Array.Empty<int>(), new GenerationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(new[] { 99 }, new GenerationOptions()).ToArray());
    }
}
