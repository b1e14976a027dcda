using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary>The buffers <see cref="NewLlmModel.NextTokenLoss(Tensor, Tensor, long)"/> keeps from one step to the next: reused, never shared by live graphs.</summary>
public class TrainingWorkspaceTests
{
    private const int Vocab = 40;

    [Fact]
    public void StepsAfterTheFirstMakeNoBuffersAndGiveTheGradientsOfAFreshModel()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        using NewLlmModel fresh = Model();
        (Tensor inputs, Tensor targets)[] batches = [Batch(1), Batch(2), Batch(3)];

        Dictionary<string, Tensor> last = null!;
        int madeAfterFirst = 0;
        for (int step = 0; step < batches.Length; step++)
        {
            last = Gradients(model, batches[step]);
            madeAfterFirst = step == 0 ? model.Workspace.BuffersMade : madeAfterFirst;
        }

        Assert.True(madeAfterFirst >= 4, $"the first step made {madeAfterFirst} buffers");
        Assert.Equal(madeAfterFirst, model.Workspace.BuffersMade);
        Dictionary<string, Tensor> expected = Gradients(fresh, batches[^1]);
        foreach ((string name, Tensor g) in expected)
        {
            Assert.True(g.eq(last[name]).all().item<bool>(), $"the gradient of {name} differs from a fresh model's");
        }
    }

    [Fact]
    public void AParametersFirstGradientIsItsOwnNotTheWorkspacesSoALaterLossAccumulatesOntoIt()
    {
        // The loss hands autograd its weight and bias gradients in workspace buffers; a parameter without a gradient
        // must get a copy, or the next loss would overwrite the gradient it has accumulated.
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        using NewLlmModel first = Model(), second = Model();
        (Tensor inputs, Tensor targets) a = Batch(1), b = Batch(2);
        Dictionary<string, Tensor> expectedA = Gradients(first, a), expectedB = Gradients(second, b);

        using (NewLlmLoss loss = model.NextTokenLoss(a.inputs, a.targets, 0))
        {
            loss.Loss.backward();   // no gradients yet: autograd keeps what the backward returned
        }

        using (NewLlmLoss loss = model.NextTokenLoss(b.inputs, b.targets, 0))
        {
            loss.Loss.backward();   // the same workspace buffers, then added onto the first gradients
        }

        AssertClose(expectedA.ToDictionary(p => p.Key, p => p.Value.add(expectedB[p.Key])), ParameterGradients.Snapshot(model));
    }

    [Fact]
    public void TwoLossesAliveTogetherDoNotShareBuffers()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        (Tensor inputs, Tensor targets) a = Batch(1), b = Batch(2);
        Dictionary<string, Tensor> expected = FullLogitsGradients(model, a, b);

        model.zero_grad();
        using NewLlmLoss first = model.NextTokenLoss(a.inputs, a.targets, 0);
        using NewLlmLoss second = model.NextTokenLoss(b.inputs, b.targets, 0);   // the first still needs the workspace
        first.Sum.add(second.Sum).backward();

        AssertClose(expected, ParameterGradients.Snapshot(model));
    }

    [Fact]
    public void ARetainedGraphBackwardedAfterALaterLossReusedTheBuffersGetsNaNNotWrongGradients()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        NewLlmLoss first = model.NextTokenLoss(Batch(1).inputs, Batch(1).targets, 0);
        first.Loss.backward(retain_graph: true);
        Gradients(model, Batch(2));   // reuses the workspace

        model.zero_grad();
        first.Loss.backward();

        // NaN wherever the graph reached (embedding rows of tokens the batch lacks stay 0).
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is { } g && g.isnan().any().item<bool>(), $"the gradient of {p.name} has no NaN"));
    }

    [Fact]
    public void ALossWithoutGradientsAndADisposedLossLeaveTheBuffersToTheNext()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        Gradients(model, Batch(1));
        int made = model.Workspace.BuffersMade;
        using (no_grad())
        {
            using NewLlmLoss evaluation = model.NextTokenLoss(Batch(2).inputs, Batch(2).targets, 0);
        }

        NewLlmLoss dropped = model.NextTokenLoss(Batch(3).inputs, Batch(3).targets, 0);   // never backwarded
        dropped.Dispose();
        Gradients(model, Batch(1));

        Assert.Equal(made, model.Workspace.BuffersMade);
    }

    [Fact]
    public void ReleaseTrainingBuffersFreesThemAndTheNextStepMakesThemAgain()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        Dictionary<string, Tensor> before = Gradients(model, Batch(1));
        int made = model.Workspace.BuffersMade;

        model.ReleaseTrainingBuffers();
        Assert.Equal(0, model.Workspace.BuffersKept);
        Dictionary<string, Tensor> after = Gradients(model, Batch(1));

        Assert.Equal(2 * made, model.Workspace.BuffersMade);
        Assert.All(before, p => Assert.True(p.Value.eq(after[p.Key]).all().item<bool>(), p.Key));
    }

    [Fact]
    public void ReleasingTheBuffersUnderALiveLossGivesItsBackwardNaNAndLeavesTheWorkspaceToTheNextLoss()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = Model();
        Dictionary<string, Tensor> expected = Gradients(model, Batch(2));
        NewLlmLoss live = model.NextTokenLoss(Batch(1).inputs, Batch(1).targets, 0);

        model.ReleaseTrainingBuffers();
        model.zero_grad();
        live.Loss.backward();
        live.Dispose();

        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is { } g && g.isnan().any().item<bool>(), $"the gradient of {p.name} has no NaN"));
        int made = model.Workspace.BuffersMade;
        Dictionary<string, Tensor> after = Gradients(model, Batch(2));
        Assert.True(model.Workspace.BuffersMade > made, "the next loss made no buffers: it did not get the workspace");
        Assert.All(expected, p => Assert.True(p.Value.eq(after[p.Key]).all().item<bool>(), p.Key));
    }

    private static NewLlmModel Model()
    {
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = Vocab, NumLayers = 2, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Dropout = 0, Seed = 11 });
        model.train();
        return model;
    }

    private static (Tensor inputs, Tensor targets) Batch(int seed)
    {
        using var generator = new Generator((ulong)seed);
        Tensor ids = randint(0, Vocab, new long[] { 5, 9 }, dtype: ScalarType.Int64, generator: generator);
        return (ids.narrow(1, 0, 8), ids.narrow(1, 1, 8));
    }

    private static Dictionary<string, Tensor> Gradients(NewLlmModel model, (Tensor inputs, Tensor targets) batch)
    {
        model.zero_grad();
        using NewLlmLoss loss = model.NextTokenLoss(batch.inputs, batch.targets, 0);
        loss.Loss.backward();
        return ParameterGradients.Snapshot(model);
    }

    private static Dictionary<string, Tensor> FullLogitsGradients(NewLlmModel model, params (Tensor inputs, Tensor targets)[] batches)
    {
        model.zero_grad();
        Tensor total = zeros(1);
        foreach ((Tensor inputs, Tensor targets) in batches)
        {
            total = total.add(F.cross_entropy(model.call(inputs).reshape(-1, Vocab), targets.reshape(-1), ignore_index: 0, reduction: nn.Reduction.Sum));
        }

        total.sum().backward();
        return ParameterGradients.Snapshot(model);
    }

    private static void AssertClose(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        foreach ((string name, Tensor g) in expected)
        {
            double diff = (actual[name] - g).abs().max().to_type(ScalarType.Float64).item<double>();
            double largest = g.abs().max().to_type(ScalarType.Float64).item<double>();
            Assert.True(diff <= 1e-5 * largest, $"gradient of {name} differs by {diff:E3} (largest entry {largest:E3})");
        }
    }
}
