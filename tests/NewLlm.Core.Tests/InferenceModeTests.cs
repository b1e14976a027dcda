using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>Step, GenerationSession and NewLlmGenerator compute the inference function whatever the module's mode, and leave the mode alone.</summary>
public class InferenceModeTests
{
    private static readonly int[] Tokens = [3, 7, 1, 12, 5, 5, 9, 2];

    // Heavy dropout, so that a step computed with it would differ from one without.
    private static NewLlmModel Model() =>
        new(new NewLlmOptions { VocabSize = 25, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, NumLayers = 2, Dropout = 0.5, Seed = 4 });

    private static (float[] Logits, float[] Context) Feed(NewLlmModel model, int seed)
    {
        torch.manual_seed(seed); // a dropout mask would come from the global generator
        using var session = new GenerationSession(model);
        foreach (int token in Tokens)
        {
            session.Feed(token);
        }

        return (session.LastLogits!, session.Context.data<float>().ToArray());
    }

    [Fact]
    public void TheModelInTrainingModeComputesWithDropout()
    {
        // The premise of the tests below: in training mode, forward applies dropout.
        using var model = Model();
        using Tensor ids = tensor(Tokens.Select(t => (long)t).ToArray()).reshape(1, -1);
        using var noGrad = torch.no_grad();
        model.eval();
        using Tensor inference = model.call(ids);
        model.train();
        using Tensor withDropout = model.call(ids);
        Assert.NotEqual(inference.data<float>().ToArray(), withDropout.data<float>().ToArray());
    }

    [Fact]
    public void ASessionFedInTrainingModeEqualsOneInEvaluationModeBitForBitAndKeepsTheMode()
    {
        using var model = Model();
        model.eval();
        (float[] logits, float[] context) = Feed(model, seed: 1);

        model.train();
        (float[] trainLogits, float[] trainContext) = Feed(model, seed: 2);
        Assert.True(model.training);
        (float[] otherSeedLogits, _) = Feed(model, seed: 3);

        Assert.Equal(logits, trainLogits);
        Assert.Equal(context, trainContext);
        Assert.Equal(logits, otherSeedLogits);

        model.eval();
        Feed(model, seed: 4);
        Assert.False(model.training);
    }

    [Fact]
    public void StepInTrainingModeEqualsStepInEvaluationModeBitForBitAndKeepsTheMode()
    {
        using var model = Model();
        using Tensor ids = tensor(new long[] { 3, 7, 1, 12, 5, 9, 2, 4 }).reshape(2, 4);
        model.eval();
        (float[] Batch, float[] Single) inEvaluation = Steps(model, ids, seed: 1);
        model.train();
        (float[] Batch, float[] Single) inTraining = Steps(model, ids, seed: 2);

        Assert.True(model.training);
        Assert.Equal(inEvaluation.Batch, inTraining.Batch);
        Assert.Equal(inEvaluation.Single, inTraining.Single);
    }

    // Both overloads over the ids: the batch's logits and contexts after every step, and the second sequence's through Step(long).
    private static (float[] Batch, float[] Single) Steps(NewLlmModel model, Tensor ids, int seed)
    {
        torch.manual_seed(seed);
        var batch = new List<float>();
        var single = new List<float>();
        NewLlmState state = model.CreateState(2);
        NewLlmState one = model.CreateState(1);
        for (int t = 0; t < ids.shape[1]; t++)
        {
            using Tensor column = ids[.., t].contiguous();
            using NewLlmStepResult step = model.Step(column, state);
            using NewLlmStepResult oneStep = model.Step(ids[1, t].item<long>(), one);
            batch.AddRange(step.Logits.data<float>().ToArray());
            batch.AddRange(step.State.Context.data<float>().ToArray());
            single.AddRange(oneStep.Logits.data<float>().ToArray());
            single.AddRange(oneStep.State.Context.data<float>().ToArray());
            state.Dispose();
            one.Dispose();
            state = step.State.Clone();
            one = oneStep.State.Clone();
        }

        state.Dispose();
        one.Dispose();
        return ([.. batch], [.. single]);
    }

    [Fact]
    public void TheGeneratorGivesTheSameTokensInEitherModeAndNeverSwitchesIt()
    {
        using var model = Model();
        var generator = new NewLlmGenerator(model);
        var options = new GenerationOptions { Temperature = 1.0, Seed = 11, MaxNewTokens = 20 };
        model.eval();
        int[] inEvaluation = generator.Generate([1, 2, 3], options).ToArray();

        model.train();
        torch.manual_seed(6);
        var inTraining = new List<int>();
        foreach (int token in generator.Generate([1, 2, 3], options))
        {
            Assert.True(model.training, "the mode must not change while generating");
            inTraining.Add(token);
        }

        Assert.Equal(inEvaluation, inTraining);
        Assert.True(model.training);
    }
}
