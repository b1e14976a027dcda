using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

public class ModelApiTests
{
    private static NewLlmOptions Tiny(int layers = 2) => new() { VocabSize = 30, EmbedDim = 8, HiddenDim = 12, ContextDim = 6, NumLayers = layers, Dropout = 0 };

    [Fact]
    public void DefaultsAreThoseOfTheOriginal()
    {
        var o = new NewLlmOptions();
        Assert.Equal((1000, 256, 512, 256, 1, 0.1), (o.VocabSize, o.EmbedDim, o.HiddenDim, o.ContextDim, o.NumLayers, o.Dropout));
    }

    [Theory]
    [InlineData(nameof(NewLlmOptions.VocabSize))]
    [InlineData(nameof(NewLlmOptions.EmbedDim))]
    [InlineData(nameof(NewLlmOptions.HiddenDim))]
    [InlineData(nameof(NewLlmOptions.ContextDim))]
    [InlineData(nameof(NewLlmOptions.NumLayers))]
    [InlineData(nameof(NewLlmOptions.Dropout))]
    public void BadOptionIsNamed(string option)
    {
        var options = Tiny();
        typeof(NewLlmOptions).GetProperty(option)!.SetValue(options, option == nameof(NewLlmOptions.Dropout) ? (object)1.5 : 0);
        var ex = Assert.Throws<OptionsValidationException>(() => new NewLlmModel(options));
        Assert.Contains(option, ex.Message);
    }

    [Fact]
    public void ParameterNamesFollowTheOriginalStateDict()
    {
        using var model = new NewLlmModel(Tiny(layers: 3));
        string[] expected =
        {
            "token_embedding.weight",
            "fnn_layers.0.weight", "fnn_layers.0.bias", "fnn_layers.3.weight", "fnn_layers.3.bias", "fnn_layers.6.weight", "fnn_layers.6.bias",
            "token_output.weight", "token_output.bias", "context_update.weight", "context_update.bias",
            "forget_gate.weight", "forget_gate.bias", "input_gate.weight", "input_gate.bias", "context_norm.weight", "context_norm.bias",
        };
        Assert.Equal(expected.OrderBy(x => x), model.state_dict().Keys.OrderBy(x => x));
        Assert.Equal(new long[] { 12, 14 }, model.state_dict()["fnn_layers.0.weight"].shape);
    }

    [Fact]
    public void InitialisationMatchesTheOriginal()
    {
        torch.manual_seed(3);
        using var model = new NewLlmModel(new NewLlmOptions());
        Dictionary<string, Tensor> p = model.state_dict();
        double std = p["token_output.weight"].std().item<float>();
        Assert.InRange(std, 0.019, 0.021);
        Assert.Equal(0f, p["forget_gate.bias"].abs().max().item<float>());
        Assert.Equal(1f, p["context_norm.weight"].min().item<float>());
        Assert.Equal(0f, p["context_norm.bias"].abs().max().item<float>());
        // embedding 256k + FNN 512*(512+1) + output 512*1000+1000 + three heads 3*(512*256+256) + LayerNorm 512
        Assert.Equal(256_000 + 262_656 + 513_000 + 393_984 + 512, model.ParameterCount);
    }

    [Fact]
    public void IdsOutsideTheVocabularyAreRejected()
    {
        using var model = new NewLlmModel(Tiny());
        using Tensor high = tensor(new long[] { 1, 2, 30 }, dtype: ScalarType.Int64).reshape(1, 3);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => model.call(high));
        Assert.Contains("30", ex.Message);
        using Tensor negative = tensor(new long[] { -1, 2 }, dtype: ScalarType.Int64).reshape(1, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.call(negative));
    }

    [Fact]
    public void EmptyBatchAndWrongShapesAreRejected()
    {
        using var model = new NewLlmModel(Tiny());
        using Tensor empty = zeros(0, 5, dtype: ScalarType.Int64);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => model.call(empty)).Message);
        using Tensor flat = zeros(5, dtype: ScalarType.Int64);
        Assert.Contains("[batch, time]", Assert.Throws<ArgumentException>(() => model.call(flat)).Message);
        using Tensor floats = zeros(2, 5);
        Assert.Contains("int64", Assert.Throws<ArgumentException>(() => model.call(floats)).Message);
    }

    [Fact]
    public void StreamingStepsReproduceForwardInConstantStateSize()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(11);
        using var model = new NewLlmModel(Tiny());
        model.eval();
        Tensor ids = randint(0, 30, new long[] { 3, 9 }, dtype: ScalarType.Int64);
        NewLlmForwardResult full = model.ForwardWithContexts(ids);
        Assert.Equal(new long[] { 3, 9, 6 }, full.Contexts.shape);

        NewLlmState state = model.CreateState(3);
        for (int t = 0; t < 9; t++)
        {
            NewLlmStepResult step = model.Step(ids[.., t].contiguous(), state);
            Assert.True((step.Logits - full.Logits[.., t]).abs().max().item<float>() < 1e-5f);
            Assert.True((step.State.Context - full.Contexts[.., t]).abs().max().item<float>() < 1e-5f);
            Assert.Equal(new long[] { 3, 6 }, step.State.Context.shape);
            state = step.State;
        }
    }

    [Fact]
    public void ContextsStayWithinTheClamp()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        using var model = new NewLlmModel(Tiny());
        using (torch.no_grad())
        {
            foreach (Tensor p in model.parameters())
            {
                p.mul_(200);
            }
        }

        Tensor ids = randint(0, 30, new long[] { 2, 20 }, dtype: ScalarType.Int64);
        Tensor contexts = model.ForwardWithContexts(ids).Contexts;
        Assert.True(contexts.abs().max().item<float>() <= 10f);
    }

    [Fact]
    public void ForwardFromAStateEqualsContinuingTheSequence()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(2);
        using var model = new NewLlmModel(Tiny());
        model.eval();
        Tensor ids = randint(0, 30, new long[] { 2, 10 }, dtype: ScalarType.Int64);
        Tensor whole = model.call(ids);
        NewLlmForwardResult head = model.ForwardWithContexts(ids[.., ..4]);
        using var state = new NewLlmState(head.Contexts[.., -1].contiguous());
        Tensor tail = model.ForwardWithContexts(ids[.., 4..], state).Logits;
        Assert.True((tail - whole[.., 4..]).abs().max().item<float>() < 1e-5f);
    }

    [Fact]
    public void TorchSharpSaveAndLoadRoundTrip()
    {
        using var scope = NewDisposeScope();
        using var temp = new NewLlm.Tests.TempDirectory();
        string path = temp.Combine("model.bin");
        torch.manual_seed(1);
        using var a = new NewLlmModel(Tiny());
        a.save(path);
        torch.manual_seed(2);
        using var b = new NewLlmModel(Tiny());
        b.load(path);
        Tensor ids = randint(0, 30, new long[] { 2, 5 }, dtype: ScalarType.Int64);
        a.eval();
        b.eval();
        Assert.Equal(0f, (a.call(ids) - b.call(ids)).abs().max().item<float>());
    }
}
