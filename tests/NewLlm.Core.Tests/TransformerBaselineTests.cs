using Microsoft.Extensions.Options;
using NewLlm.Tests;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary>
/// The Transformer baseline against the original's <c>TransformerLM</c>: parity with the PyTorch reference
/// (tests/Reference/transformer_baseline_reference.py), its state dict, initialisation, causality, limits and weight files.
/// </summary>
public class TransformerBaselineTests
{
    private const string FixtureName = "transformer-baseline-small.safetensors";

    private static TransformerBaselineOptions Small(int? seed = 3) => new()
    {
        VocabSize = 50, EmbedDim = 32, NumHeads = 4, HiddenDim = 64, NumLayers = 2, MaxSeqLength = 32, Dropout = 0.0, Seed = seed,
    };

    [Fact]
    public void BundledFixtureMatchesReference()
    {
        BaselineParity.AssertMatches(TestPaths.BundledFixture(FixtureName));
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void FixtureRegeneratedByReferenceScriptMatches()
    {
        Skip.If(PythonTorch.SkipReason is not null, PythonTorch.SkipReason);
        using var temp = new TempDirectory();
        string script = Path.Combine(TestPaths.RepositoryRoot, "tests", "Reference", "transformer_baseline_reference.py");
        string fresh = temp.Combine("baseline.safetensors");
        PythonTorch.Run(script, "export", "--out", fresh, "--seed", "5", "--layers", "3", "--heads", "2", "--seq", "20");
        BaselineParity.AssertMatches(fresh);

        // The bundled fixture is what the script makes with its defaults.
        string again = temp.Combine("again.safetensors");
        PythonTorch.Run(script, "export", "--out", again);
        Dictionary<string, Tensor> made = SafetensorsFile.Read(again), bundled = SafetensorsFile.Read(TestPaths.BundledFixture(FixtureName));
        Assert.Equal(bundled.Keys.Order(), made.Keys.Order());
        foreach ((string name, Tensor tensor) in bundled)
        {
            Assert.True(tensor.allclose(made[name], rtol: 0, atol: 1e-6), $"{name} differs from the regenerated fixture");
        }
    }

    [Fact]
    public void ParameterNamesShapesAndCountAreTheOriginals()
    {
        Dictionary<string, Tensor> reference = SafetensorsFile.Read(TestPaths.BundledFixture(FixtureName));
        var expected = reference.Where(kv => !kv.Key.StartsWith("test.", StringComparison.Ordinal)).ToList();
        using var model = new TransformerBaselineModel(Small());
        var actual = model.state_dict().ToList();
        Assert.Equal(expected.Select(kv => kv.Key), actual.Select(kv => kv.Key));
        Assert.Equal(expected.Select(kv => kv.Value.shape), actual.Select(kv => kv.Value.shape));
        Assert.Equal(expected.Sum(kv => kv.Value.numel()), model.ParameterCount);
        Assert.Equal(TransformerBaselineModel.ShapesOf(model.Options).Select(kv => (kv.Key, kv.Value)), actual.Select(kv => (kv.Key, kv.Value.shape)));
        Assert.Contains("blocks.1.ffn.3.weight", actual.Select(kv => kv.Key));
        Assert.DoesNotContain(actual, kv => kv.Key.StartsWith("blocks.2.", StringComparison.Ordinal));
    }

    [Fact]
    public void InitialisationIsNormalWeightsZeroBiasesUnitLayerNorms()
    {
        using var model = new TransformerBaselineModel(new TransformerBaselineOptions { VocabSize = 400, EmbedDim = 64, HiddenDim = 256, MaxSeqLength = 64, Seed = 1 });
        foreach ((string name, Tensor p) in model.named_parameters())
        {
            bool layerNorm = name.Contains("norm", StringComparison.Ordinal) || name.StartsWith("ln_f", StringComparison.Ordinal);
            if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                Assert.Equal(0.0, p.abs().max().item<float>());
            }
            else if (layerNorm)
            {
                Assert.True(p.eq(1).all().item<bool>(), $"{name} is not all ones");
            }
            else
            {
                double mean = p.mean().item<float>(), std = p.std().item<float>();
                Assert.True(Math.Abs(mean) < 0.003, $"{name}: mean {mean}");
                Assert.InRange(std, 0.018, 0.022);
            }
        }

        // The output projection is its own weight, not the embedding's.
        var state = model.state_dict();
        Assert.False(state["output_projection.weight"].allclose(state["token_embedding.weight"]));
    }

    [Fact]
    public void SeedGivesTheSameWeightsAndAnotherSeedOthers()
    {
        using var a = new TransformerBaselineModel(Small(seed: 7));
        using var b = new TransformerBaselineModel(Small(seed: 7));
        using var c = new TransformerBaselineModel(Small(seed: 8));
        Assert.True(a.state_dict()["blocks.1.attention.qkv_proj.weight"].eq(b.state_dict()["blocks.1.attention.qkv_proj.weight"]).all().item<bool>());
        Assert.False(a.state_dict()["blocks.1.attention.qkv_proj.weight"].eq(c.state_dict()["blocks.1.attention.qkv_proj.weight"]).all().item<bool>());
    }

    [Fact]
    public void LaterTokensDoNotChangeEarlierLogits()
    {
        using var model = new TransformerBaselineModel(Small());
        model.eval();
        using var noGrad = no_grad();
        Tensor ids = randint(1, 50, [2, 12], generator: new Generator(4), dtype: ScalarType.Int64);
        Tensor changed = ids.clone();
        changed[.., 8] = (ids[.., 8] % 49) + 1;
        Tensor before = model.call(ids), after = model.call(changed);
        Assert.Equal(new long[] { 2, 12, 50 }, before.shape);
        Assert.True(before[.., ..8].allclose(after[.., ..8], rtol: 0, atol: 1e-6), "a later token changed an earlier position's logits");
        Assert.False(before[.., 8..].allclose(after[.., 8..], rtol: 0, atol: 1e-4), "the changed token did not change its own logits");
    }

    [Fact]
    public void DropoutActsInTrainingModeOnly()
    {
        var options = Small();
        options.Dropout = 0.1;
        using var model = new TransformerBaselineModel(options);
        Tensor ids = randint(1, 50, [2, 12], generator: new Generator(6), dtype: ScalarType.Int64);
        using var noGrad = no_grad();
        Assert.False(model.call(ids).allclose(model.call(ids)), "training-mode forwards are equal: no dropout");
        model.eval();
        Assert.True(model.call(ids).eq(model.call(ids)).all().item<bool>());
    }

    [Fact]
    public void ChunkedLossEqualsCrossEntropyOfLogitsWithPadIgnored()
    {
        using var model = new TransformerBaselineModel(Small());
        model.eval();
        Tensor ids = randint(0, 50, [3, 10], generator: new Generator(2), dtype: ScalarType.Int64);
        ids[0, 5] = 0;
        Tensor expected = F.cross_entropy(model.call(ids[.., ..^1]).reshape(-1, 50), ids[.., 1..].reshape(-1), ignore_index: 0);
        using NewLlmLoss loss = model.NextTokenLoss(ids[.., ..^1], ids[.., 1..], ignoreIndex: 0, chunkRows: 4);
        Assert.Equal(expected.item<float>(), loss.Loss.item<float>(), 5);
        using Tensor counted = ids[.., 1..].ne(0).sum();
        Assert.Equal(counted.item<long>(), loss.TokenCount);

        // Gradients reach the blocks through the chunked loss.
        loss.Loss.backward();
        Assert.True(model.named_parameters().Single(kv => kv.name == "blocks.0.attention.qkv_proj.weight").parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void SequenceLongerThanMaxSeqLengthIsRefused()
    {
        using var model = new TransformerBaselineModel(Small());
        Tensor ids = ones([1, 33], dtype: ScalarType.Int64);
        var forward = Assert.Throws<ArgumentException>(() => model.call(ids));
        Assert.Contains("33 positions", forward.Message, StringComparison.Ordinal);
        Assert.Contains("MaxSeqLength", forward.Message, StringComparison.Ordinal);
        using NewLlmLoss fits = model.NextTokenLoss(ids);   // 32 inputs, 32 targets
        Assert.Throws<ArgumentException>(() => model.NextTokenLoss(ones([1, 34], dtype: ScalarType.Int64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.call(full([1, 4], 50L, dtype: ScalarType.Int64)));
    }

    [Fact]
    public void OptionsValidationNamesEveryBadOption()
    {
        var bad = new TransformerBaselineOptions { EmbedDim = 30, NumHeads = 4, MaxSeqLength = 0, Dropout = 1.0 };
        var ex = Assert.Throws<OptionsValidationException>(() => new TransformerBaselineModel(bad));
        Assert.Contains(ex.Failures, f => f.Contains("EmbedDim must be a multiple of NumHeads (4), but is 30", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("MaxSeqLength must be positive", StringComparison.Ordinal));
        Assert.Contains(ex.Failures, f => f.Contains("Dropout must be in [0, 1)", StringComparison.Ordinal));
        Assert.Equal(3, ex.Failures.Count());
        Assert.True(new TransformerBaselineOptionsValidator().Validate(null, new TransformerBaselineOptions()).Succeeded);
        Assert.True(new TransformerBaselineOptionsValidator().Validate(null, new TransformerBaselineOptions { NumHeads = 0 }).Failed);
    }

    [Fact]
    public void SafetensorsRoundTripKeepsTheFunction()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("baseline.safetensors");
        using var model = new TransformerBaselineModel(Small(seed: 11));
        model.eval();
        model.SaveSafetensors(path);
        Tensor ids = randint(0, 50, [2, 9], generator: new Generator(1), dtype: ScalarType.Int64);
        using var noGrad = no_grad();

        using var created = TransformerBaselineModel.FromSafetensors(path, numHeads: 4, dropout: 0.0);
        Assert.Equal(model.Options.ToString(), created.Options.ToString().Replace(", Seed=11", string.Empty, StringComparison.Ordinal) + ", Seed=11");
        Assert.True(model.call(ids).eq(created.call(ids)).all().item<bool>());

        using var loaded = new TransformerBaselineModel(Small(seed: 12));
        loaded.eval();
        Assert.False(model.call(ids).eq(loaded.call(ids)).all().item<bool>());
        loaded.LoadSafetensors(path);
        Assert.True(model.call(ids).eq(loaded.call(ids)).all().item<bool>());

        // Another size is refused before anything is copied, naming the file and the tensor.
        using var wider = new TransformerBaselineModel(new TransformerBaselineOptions { VocabSize = 50, EmbedDim = 32, HiddenDim = 128, NumLayers = 2, MaxSeqLength = 32 });
        var ex = Assert.Throws<InvalidDataException>(() => wider.LoadSafetensors(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ffn.0.weight", ex.Message, StringComparison.Ordinal);

        // A New-LLM file is not a baseline.
        string newLlm = temp.Combine("newllm.safetensors");
        using (var other = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 16, HiddenDim = 16, ContextDim = 16 }))
        {
            other.SaveSafetensors(newLlm);
        }

        var notBaseline = Assert.Throws<InvalidDataException>(() => TransformerBaselineModel.FromSafetensors(newLlm, numHeads: 4));
        Assert.Contains("position_embedding.weight", notBaseline.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GlobalSeedDrawsTheReferenceScriptsInitialWeights()
    {
        // The script seeds torch.manual_seed(1) and builds the model: the same draws in the same module order.
        Dictionary<string, Tensor> reference = SafetensorsFile.Read(TestPaths.BundledFixture(FixtureName));
        torch.manual_seed(1);
        using var model = new TransformerBaselineModel(Small(seed: null));
        foreach ((string name, Tensor tensor) in model.state_dict())
        {
            Assert.True(tensor.allclose(reference[name], rtol: 0, atol: 1e-7), $"{name} differs from the reference's initial weights");
        }
    }

    [Fact]
    public void PyTorchRoundTripKeepsTheWeightsAndRefusesOtherModels()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("baseline.pt");
        using var model = new TransformerBaselineModel(Small(seed: 21));
        model.SavePyTorch(path);
        using var loaded = new TransformerBaselineModel(Small(seed: 22));
        loaded.LoadPyTorch(path);
        using var created = TransformerBaselineModel.FromPyTorch(path, numHeads: 2, dropout: 0.0);
        Assert.Equal(2, created.Options.NumHeads);
        Assert.False(created.training);
        foreach ((string name, Tensor tensor) in model.state_dict())
        {
            Assert.True(tensor.eq(loaded.state_dict()[name]).all().item<bool>(), name);
            Assert.True(tensor.eq(created.state_dict()[name]).all().item<bool>(), name);
        }

        Assert.True(loaded.parameters().All(p => p.requires_grad));
        using var deeper = new TransformerBaselineModel(new TransformerBaselineOptions { VocabSize = 50, EmbedDim = 32, HiddenDim = 64, NumLayers = 3, MaxSeqLength = 32 });
        var missing = Assert.Throws<InvalidDataException>(() => deeper.LoadPyTorch(path));
        Assert.Contains("blocks.2.", missing.Message, StringComparison.Ordinal);
        var heads = Assert.Throws<InvalidDataException>(() => TransformerBaselineModel.FromPyTorch(path, numHeads: 5));
        Assert.Contains("multiple of NumHeads (5)", heads.Message, StringComparison.Ordinal);

        string newLlm = temp.Combine("newllm.pt");
        using (var other = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 16, HiddenDim = 16, ContextDim = 16 }))
        {
            other.SavePyTorch(newLlm);
        }

        var notBaseline = Assert.Throws<InvalidDataException>(() => TransformerBaselineModel.FromPyTorch(newLlm, numHeads: 4));
        Assert.Contains("newllm.pt", notBaseline.Message, StringComparison.Ordinal);
        Assert.Contains("position_embedding.weight", notBaseline.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => TransformerBaselineModel.FromPyTorch(temp.Combine("nope.pt"), numHeads: 4));
    }

    [Fact]
    public void AFileThatRecordsItsHeadsIsRebuiltWithThemAndOtherHeadsAreRefused()
    {
        using var temp = new TempDirectory();
        string path = temp.Combine("recorded.pt");
        var options = Small(seed: 8);
        options.NumHeads = 2; // not the default 4, which a loader that ignores the record would build
        using var model = new TransformerBaselineModel(options);
        var checkpoint = new PyTorchCheckpoint { Config = new Dictionary<string, object?> { ["model_type"] = "transformer_baseline", ["num_heads"] = 2 } };
        foreach ((string name, Tensor tensor) in model.state_dict())
        {
            checkpoint.ModelState[name] = tensor;
        }

        checkpoint.Write(path);

        // 2 heads, as recorded, whether asked for or left out: the model's own logits (8 heads would compute others).
        using Tensor ids = tensor(new long[] { 3, 9, 27, 1, 4 }).view(1, -1);
        using Tensor expected = model.call(ids);
        foreach (int? heads in new int?[] { null, 2 })
        {
            using var loaded = TransformerBaselineModel.FromPyTorch(path, heads, dropout: 0.0);
            Assert.Equal(2, loaded.Options.NumHeads);
            using Tensor logits = loaded.call(ids);
            Assert.True(expected.allclose(logits, rtol: 0, atol: 1e-6), $"numHeads {heads?.ToString() ?? "null"}");
        }

        using (var any = (TransformerBaselineModel)LanguageModel.LoadFromPyTorch(path))
        {
            Assert.Equal(2, any.Options.NumHeads);
        }

        var refused = Assert.Throws<ArgumentException>(() => TransformerBaselineModel.FromPyTorch(path, numHeads: 8));
        Assert.Contains("records 2 attention heads, but numHeads is 8", refused.Message, StringComparison.Ordinal);

        // A bare state dict records none: then the heads must be given.
        string stateDict = temp.Combine("state-dict.pt");
        model.SavePyTorch(stateDict);
        var unknown = Assert.Throws<ArgumentException>(() => TransformerBaselineModel.FromPyTorch(stateDict));
        Assert.Contains("records no head count", unknown.Message, StringComparison.Ordinal);
        using var given = TransformerBaselineModel.FromPyTorch(stateDict, numHeads: 8);
        Assert.Equal(8, given.Options.NumHeads);
    }

    [SkippableFact]
    [Trait("Category", "Slow")]
    public void PyTorchFilesMoveBetweenThisModelAndTheReference()
    {
        Skip.If(PythonTorch.SkipReason is not null, PythonTorch.SkipReason);
        using var temp = new TempDirectory();
        string path = temp.Combine("baseline.pt");
        using var model = new TransformerBaselineModel(Small(seed: 5));
        model.SavePyTorch(path);
        string check = temp.Combine("check.py");
        File.WriteAllText(check, $$"""
            import sys, torch
            sys.path.insert(0, {{PythonString(Path.Combine(TestPaths.RepositoryRoot, "tests", "Reference"))}})
            from transformer_baseline_reference import TransformerLM
            m = TransformerLM(50, 32, 4, 64, 2, 32, dropout=0.0)
            m.load_state_dict(torch.load(sys.argv[1]), strict=True)
            assert abs(m.token_embedding.weight[3, 5].item() - {{model.state_dict()["token_embedding.weight"][3, 5].item<float>():R}}) < 1e-7
            torch.manual_seed(9)
            torch.save({"epoch": 2, "model_state_dict": TransformerLM(50, 32, 4, 64, 2, 32).state_dict()}, sys.argv[2])
            """);
        string original = temp.Combine("original-checkpoint.pt");
        PythonTorch.Run(check, path, original);

        // The original trainer's checkpoint dict loads as New-LLM's do; its weights are those seed 9 draws.
        using var fromOriginal = TransformerBaselineModel.FromPyTorch(original, numHeads: 4);
        Assert.Equal(32, fromOriginal.Options.MaxSeqLength);
        torch.manual_seed(9);
        using var expected = new TransformerBaselineModel(Small(seed: null));
        Assert.True(expected.state_dict()["blocks.1.ffn.3.weight"].allclose(fromOriginal.state_dict()["blocks.1.ffn.3.weight"], rtol: 0, atol: 1e-7));
    }

    private static string PythonString(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}

/// <summary>The baseline's parity check, usable on any fixture exported by the reference script.</summary>
internal static class BaselineParity
{
    public static void AssertMatches(string path)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors = SafetensorsFile.Read(path);
        int numHeads = (int)tensors["test.num_heads"][0].item<long>();   // not in the weights
        using TransformerBaselineModel model = TransformerBaselineModel.FromSafetensors(path, numHeads, dropout: 0.0, allowUnexpected: true);
        Tensor ids = tensors["test.input_ids"];
        float[] expectedLosses = tensors["test.train_losses"].data<float>().ToArray();
        using (no_grad())
        {
            double maxDiff = (model.call(ids) - tensors["test.logits"]).abs().max().item<float>();
            Assert.True(maxDiff <= 1e-4, $"{Path.GetFileName(path)}: max |logits - reference| = {maxDiff:E3} > 1e-4");
        }

        // Three Adam steps (lr 1e-3, dropout off, grad-norm clip 1.0) through the chunked next-token loss, PAD 0 ignored.
        model.train();
        var optimizer = torch.optim.Adam(model.parameters(), lr: 1e-3);
        for (int step = 0; step < expectedLosses.Length; step++)
        {
            optimizer.zero_grad();
            using NewLlmLoss loss = model.NextTokenLoss(ids, ignoreIndex: 0);
            double actual = loss.Loss.item<float>();
            Assert.True(Math.Abs(actual - expectedLosses[step]) <= 1e-4, $"{Path.GetFileName(path)}: loss before step {step + 1} is {actual:R}, reference {expectedLosses[step]:R}");
            loss.Loss.backward();
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
    }
}
