using System.Collections;
using System.IO.Compression;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace NewLlm.Core.Tests;

/// <summary>
/// PyTorch's torch.save files: the original trainer's checkpoint and flat state dicts, read and written. The fixtures
/// under Fixtures/pytorch were made by Fixtures/pytorch/pytorch_fixtures.py (python3-torch 1.13) and hold the
/// expected logits; the round trips through PyTorch itself run only where /usr/bin/python3 can import torch.
/// </summary>
public sealed class PyTorchInteropTests : IDisposable
{
    private const double Tolerance = 1e-4;

    private readonly NewLlm.Tests.TempDirectory _temp = new("newllm-pytorch-tests");
    private readonly ITestOutputHelper _output;

    public PyTorchInteropTests(ITestOutputHelper output) => _output = output;

    private static string Fixture(string name) => TestPaths.BundledFixture(Path.Combine("pytorch", name));

    private static string CheckpointPath => Fixture("checkpoint.pt");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void TheOriginalsCheckpointOpensWithItsSizesInferredAndGivesPyTorchsLogits()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = NewLlmModel.FromPyTorch(CheckpointPath, CPU);
        Assert.Equal(new NewLlmOptions { VocabSize = 37, EmbedDim = 12, HiddenDim = 20, ContextDim = 10, NumLayers = 2 }.ToString(), model.Options.ToString());
        Assert.Equal(DeviceType.CPU, model.Device.type);
        AssertLogits(model, "test.logits");
    }

    [Fact]
    public void LoadPyTorchTakesTheCheckpointsModelStateIntoAModelOfTheSameSizes()
    {
        using var scope = NewDisposeScope();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 37, EmbedDim = 12, HiddenDim = 20, ContextDim = 10, NumLayers = 2, Dropout = 0 });
        model.LoadPyTorch(CheckpointPath);
        AssertLogits(model, "test.logits");
    }

    [Theory]
    [InlineData("state_dict_fp16.pt", "test.logits_fp16")]
    [InlineData("state_dict_bf16.pt", "test.logits_bf16")]
    public void HalfPrecisionStateDictsAreConvertedToFloat32(string file, string expected)
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = NewLlmModel.FromPyTorch(Fixture(file));
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        AssertLogits(model, expected);
    }

    [Fact]
    public void AModelOpenedFromPyTorchStillTrainsWithGradientsReachingEveryParameter()
    {
        using var scope = NewDisposeScope();
        using NewLlmModel model = NewLlmModel.FromPyTorch(CheckpointPath);
        model.train();
        Tensor ids = SafetensorsFile.Read(Fixture("expected.safetensors"))["test.input_ids"];
        Tensor before = model.state_dict()["token_embedding.weight"].clone();
        var optimizer = torch.optim.Adam(model.parameters(), lr: 1e-2);
        optimizer.zero_grad();
        Tensor loss = F.cross_entropy(model.call(ids[.., ..^1]).reshape(-1, 37), ids[.., 1..].reshape(-1));
        loss.backward();
        foreach ((string name, Parameter p) in model.named_parameters())
        {
            Assert.True(p.requires_grad, $"{name} does not require grad");
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"no gradient reached {name}");
        }

        optimizer.step();
        Assert.True((model.state_dict()["token_embedding.weight"] - before).abs().max().item<float>() > 0);
    }

    [Fact]
    public void ASizeMismatchSaysWhatTheFileHoldsAndLeavesTheModelUntouched()
    {
        using var scope = NewDisposeScope();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 37, EmbedDim = 8, HiddenDim = 20, ContextDim = 10, NumLayers = 2, Seed = 1 });
        Dictionary<string, Tensor> before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var ex = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(CheckpointPath));
        Assert.Contains(CheckpointPath, ex.Message);
        Assert.Contains("'token_embedding.weight' has shape [37, 12], the model expects [37, 8]", ex.Message);
        Assert.Contains("VocabSize=37, EmbedDim=12, HiddenDim=20, ContextDim=10, NumLayers=2", ex.Message);
        AssertUntouched(model, before);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "damaged.pt", "the zip archive is damaged or truncated" },
        { "legacy.pt", "legacy (non-zip) format" },
        { "whole_module.pt", "holds a whole pickled module (torch.save(model)), not a state dict" },
        { "int_weights.pt", "unsupported tensor dtype: 'token_embedding.weight' is Int64" },
        { "text", "the file is not a zip archive" },
        { "empty", "the file is not a zip archive" },
        { "zip-without-pickle", "the zip archive has no data.pkl" },
        { "garbage-pickle", "its data.pkl cannot be unpickled" },
        { "dict-without-model-state", "it has no 'model_state_dict' and is not a state dict either (its top-level keys: 'epoch', 'weights')" },
        { "model-state-not-tensors", "'model_state_dict' entry 'token_embedding.weight' is the string 'x', not a tensor" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void AFileThatIsNotANewLlmPyTorchStateIsRejectedWithItsNameAndTheModelUntouched(string file, string expected)
    {
        using var scope = NewDisposeScope();
        string path = file.EndsWith(".pt", StringComparison.Ordinal) ? Fixture(file) : MakeBadFile(file);
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 37, EmbedDim = 12, HiddenDim = 20, ContextDim = 10, NumLayers = 2, Seed = 1 });
        Dictionary<string, Tensor> before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var ex = Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(path));
        _output.WriteLine(ex.Message);
        Assert.StartsWith(Path.GetFullPath(path), ex.Message);
        Assert.Contains(expected, ex.Message);
        AssertUntouched(model, before);
        Assert.Contains(expected, Assert.Throws<InvalidDataException>(() => NewLlmModel.FromPyTorch(path)).Message);
        if (file != "int_weights.pt")
        {
            Assert.Contains(expected, Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path)).Message);
        }
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        string path = _temp.Combine("absent.pt");
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => NewLlmModel.FromPyTorch(path)).Message);
    }

    [Fact]
    public void TheOriginalsCheckpointReadsWholeWithoutItsConfigClass()
    {
        using var scope = NewDisposeScope();
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Fixture("expected.json")));
        JsonElement expected = json.RootElement;
        Dictionary<string, Tensor> tensors = SafetensorsFile.Read(Fixture("expected.safetensors"));
        using PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(CheckpointPath);

        Assert.False(checkpoint.IsStateDictOnly);
        string[] names = expected.GetProperty("parameter_names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(names.Order(), checkpoint.ModelState.Keys.Order());
        Assert.Equal(ScalarType.Float32, checkpoint.ModelState["token_embedding.weight"].dtype);

        // The optimizer: per-parameter state numbered as the original's model.parameters(), which is our named_parameters() order.
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 37, EmbedDim = 12, HiddenDim = 20, ContextDim = 10, NumLayers = 2 });
        Assert.Equal(names, model.named_parameters().Select(p => p.name));
        PyTorchAdamState adam = Assert.IsType<PyTorchAdamState>(checkpoint.Optimizer);
        Assert.Equal(Enumerable.Range(0, names.Length), adam.State.Keys.Order());
        foreach ((int index, PyTorchAdamParameterState s) in adam.State)
        {
            Assert.Equal(3.0, s.Step);
            Assert.Equal(checkpoint.ModelState[names[index]].shape, s.ExpAvg.shape);
            Assert.True(Same(s.ExpAvg, tensors[$"adam.{index}.exp_avg"]), $"exp_avg of {index}");
            Assert.True(Same(s.ExpAvgSq, tensors[$"adam.{index}.exp_avg_sq"]), $"exp_avg_sq of {index}");
            Assert.Null(s.MaxExpAvgSq);
        }

        PyTorchAdamParamGroup group = Assert.Single(adam.ParamGroups);
        Assert.Equal(1e-3, group.LearningRate);
        Assert.Equal(0.85, group.Beta1);
        Assert.Equal(0.97, group.Beta2);
        Assert.Equal(1e-7, group.Eps);
        Assert.Equal(0.01, group.WeightDecay);
        Assert.False(group.Amsgrad);
        Assert.Equal(Enumerable.Range(0, names.Length), group.ParameterIndices);

        Assert.Equal(Doubles(expected, "train_losses"), checkpoint.TrainLosses);
        Assert.Equal(Doubles(expected, "val_losses"), checkpoint.ValLosses);
        Assert.Equal(Doubles(expected, "train_ppls"), checkpoint.TrainPpls);
        Assert.Equal(Doubles(expected, "val_ppls"), checkpoint.ValPpls);
        Assert.Equal(2, checkpoint.CurrentEpoch); // the original's: the 0-based index of the epoch just finished
        Assert.Equal(3, checkpoint.CompletedEpochs);
        Assert.Equal("__main__.HHRLHFTrainConfig", checkpoint.ConfigClassName);
        Assert.Equal(new Dictionary<string, object?> { ["num_layers"] = 2, ["max_seq_length"] = 64 }, checkpoint.Config);
    }

    [Fact]
    public void AFlatStateDictReadsAsModelStateOnly()
    {
        using PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(Fixture("state_dict_fp16.pt"));
        Assert.True(checkpoint.IsStateDictOnly);
        Assert.Equal(15, checkpoint.ModelState.Count);
        Assert.Equal(ScalarType.Float16, checkpoint.ModelState["context_norm.weight"].dtype);
        Assert.Null(checkpoint.Optimizer);
        Assert.Null(checkpoint.CurrentEpoch);
        Assert.Empty(checkpoint.TrainLosses);
        Assert.Empty(checkpoint.Config);
    }

    [Fact]
    public void ACheckpointWrittenThenReadIsTheSameWithItsConfigAsAPlainDict()
    {
        using var scope = NewDisposeScope();
        string path = _temp.Combine("out", "resumable.pt");
        using PyTorchCheckpoint original = PyTorchCheckpoint.Read(CheckpointPath);
        original.Config["nested"] = new Dictionary<string, object?> { ["name"] = "hh-rlhf", ["sizes"] = new List<object?> { 1, 2.5, null, true } };
        original.Write(path);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));

        using PyTorchCheckpoint again = PyTorchCheckpoint.Read(path);
        Assert.Null(again.ConfigClassName);
        Assert.Equal(original.ModelState.Keys.Order(), again.ModelState.Keys.Order());
        Assert.All(original.ModelState, kv => Assert.True(Same(kv.Value, again.ModelState[kv.Key]), kv.Key));
        PyTorchAdamState adam = again.Optimizer!;
        Assert.Equal(original.Optimizer!.State.Keys.Order(), adam.State.Keys.Order());
        Assert.All(original.Optimizer.State, kv =>
        {
            Assert.Equal(kv.Value.Step, adam.State[kv.Key].Step);
            Assert.True(Same(kv.Value.ExpAvg, adam.State[kv.Key].ExpAvg));
            Assert.True(Same(kv.Value.ExpAvgSq, adam.State[kv.Key].ExpAvgSq));
        });
        PyTorchAdamParamGroup group = Assert.Single(adam.ParamGroups);
        Assert.Equal((1e-3, 0.85, 0.97, 1e-7, 0.01), (group.LearningRate, group.Beta1, group.Beta2, group.Eps, group.WeightDecay));
        Assert.Equal(original.Optimizer.ParamGroups[0].ParameterIndices, group.ParameterIndices);
        Assert.Equal(original.TrainLosses, again.TrainLosses);
        Assert.Equal(original.ValPpls, again.ValPpls);
        Assert.Equal(2, again.CurrentEpoch);
        Assert.Equal(2, again.Config["num_layers"]);
        var nested = Assert.IsType<Dictionary<string, object?>>(again.Config["nested"]);
        Assert.Equal("hh-rlhf", nested["name"]);
        Assert.Equal(new List<object?> { 1, 2.5, null, true }, nested["sizes"]);
    }

    [Fact]
    public void AConfigValueThatAWeightsOnlyLoadRefusesIsRejectedBeforeAnythingIsWritten()
    {
        string path = _temp.Combine("refused.pt");
        using var checkpoint = new PyTorchCheckpoint { Config = new Dictionary<string, object?> { ["when"] = DateTime.UnixEpoch } };
        var ex = Assert.Throws<ArgumentException>(() => checkpoint.Write(path));
        Assert.Contains("'when'", ex.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void SavePyTorchThenFromPyTorchGivesTheSameFunction()
    {
        using var scope = NewDisposeScope();
        string path = _temp.Combine("model.pt");
        using var a = new NewLlmModel(new NewLlmOptions { VocabSize = 29, EmbedDim = 6, HiddenDim = 14, ContextDim = 5, NumLayers = 3, Dropout = 0, Seed = 4 });
        a.SavePyTorch(path);
        using NewLlmModel b = NewLlmModel.FromPyTorch(path);
        Assert.Equal(3, b.Options.NumLayers);
        Tensor ids = randint(0, 29, new long[] { 2, 7 }, dtype: ScalarType.Int64);
        a.eval();
        b.eval();
        Assert.Equal(0f, (a.call(ids) - b.call(ids)).abs().max().item<float>());
        Hashtable raw = PyTorchUnpickler.UnpickleStateDict(path);
        Assert.Equal(a.state_dict().Keys.Order(), raw.Keys.Cast<string>().Order());
    }

    [SkippableFact]
    public void PyTorchLoadsSavePyTorchsFileWeightsOnlyIntoTheOriginalModelWithTheSameLogits()
    {
        Skip.If(NewLlm.Tests.PythonTorch.SkipReason is not null, NewLlm.Tests.PythonTorch.SkipReason);
        using var scope = NewDisposeScope();
        using NewLlmModel model = NewLlmModel.FromPyTorch(Fixture("state_dict_bf16.pt"));
        using (no_grad())
        {
            foreach (Parameter p in model.parameters())
            {
                p.add_(randn_like(p) * 0.05);  // values PyTorch has never seen
            }
        }

        string path = _temp.Combine("from-newllm.pt");
        model.SavePyTorch(path);
        long[,] ids = { { 1, 5, 36, 0, 2, 2, 9 }, { 30, 3, 3, 17, 8, 0, 35 } };
        string idsPath = _temp.Combine("ids.json");
        File.WriteAllText(idsPath, JsonSerializer.Serialize(Enumerable.Range(0, 2).Select(r => Enumerable.Range(0, 7).Select(c => ids[r, c]))));
        string outPath = _temp.Combine("logits.json");
        RunPython("check-state-dict", path, idsPath, outPath);

        using JsonDocument result = JsonDocument.Parse(File.ReadAllText(outPath));
        Assert.Equal(["torch.float32"], result.RootElement.GetProperty("types").EnumerateArray().Select(e => e.GetString()));
        float[] pytorch = result.RootElement.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        model.eval();
        using (no_grad())
        {
            float[] ours = model.call(tensor(ids)).reshape(-1).data<float>().ToArray();
            double maxDiff = ours.Zip(pytorch, (x, y) => Math.Abs(x - y)).Max();
            _output.WriteLine($"max |logits - PyTorch| after SavePyTorch: {maxDiff:E3}");
            Assert.True(maxDiff <= Tolerance, $"max |logits - PyTorch| = {maxDiff:E3}");
        }
    }

    [SkippableFact]
    public void AWrittenCheckpointResumesInTheOriginalTrainersLoadCheckpoint()
    {
        Skip.If(NewLlm.Tests.PythonTorch.SkipReason is not null, NewLlm.Tests.PythonTorch.SkipReason);
        using PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(CheckpointPath);
        string path = _temp.Combine("resume.pt");
        checkpoint.Write(path);
        string outPath = _temp.Combine("resumed.json");
        RunPython("check-checkpoint", path, outPath);

        using JsonDocument result = JsonDocument.Parse(File.ReadAllText(outPath));
        JsonElement r = result.RootElement;
        Assert.Equal(["config", "current_epoch", "model_state_dict", "optimizer_state_dict", "train_losses", "train_ppls", "val_losses", "val_ppls"], r.GetProperty("keys").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((1e-3, 0.01, 1e-7), (r.GetProperty("lr").GetDouble(), r.GetProperty("weight_decay").GetDouble(), r.GetProperty("eps").GetDouble()));
        Assert.Equal([0.85, 0.97], r.GetProperty("betas").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(checkpoint.TrainLosses, Doubles(r, "train_losses"));
        Assert.Equal(checkpoint.ValPpls, Doubles(r, "val_ppls"));
        Assert.Equal(2, r.GetProperty("current_epoch").GetInt32());
        Assert.Equal(checkpoint.CompletedEpochs, r.GetProperty("start_epoch").GetInt32()); // the original's resume trains the epoch after the three done
        Assert.Equal(2, r.GetProperty("config").GetProperty("num_layers").GetInt32());
        foreach ((int index, PyTorchAdamParameterState s) in checkpoint.Optimizer!.State)
        {
            string key = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(3.0, r.GetProperty("steps").GetProperty(key).GetDouble());
            Assert.Equal(4.0, r.GetProperty("steps_after").GetProperty(key).GetDouble());
            double sum = s.ExpAvg.to_type(ScalarType.Float64).sum().item<double>();
            Assert.Equal(sum, r.GetProperty("exp_avg_sums").GetProperty(key).GetDouble(), 12);
        }
    }

    private void AssertLogits(NewLlmModel model, string expectedName)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> expected = SafetensorsFile.Read(Fixture("expected.safetensors"));
        model.eval();
        using var noGrad = no_grad();
        Tensor logits = model.call(expected["test.input_ids"]);
        Assert.Equal(expected[expectedName].shape, logits.shape);
        double maxDiff = (logits - expected[expectedName]).abs().max().item<float>();
        _output.WriteLine($"{expectedName}: max |logits - PyTorch| = {maxDiff:E3}");
        Assert.True(maxDiff <= Tolerance, $"{expectedName}: max |logits - PyTorch| = {maxDiff:E3} > {Tolerance}");
    }

    private static void AssertUntouched(NewLlmModel model, Dictionary<string, Tensor> before)
    {
        foreach ((string name, Tensor value) in model.state_dict())
        {
            Assert.True(Same(value, before[name]), $"{name} changed");
        }

        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static double[] Doubles(JsonElement element, string name) => element.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    private string MakeBadFile(string kind)
    {
        string path = _temp.Combine(kind + ".pt");
        switch (kind)
        {
            case "text":
                File.WriteAllText(path, "model_state_dict = {}\n");
                break;
            case "empty":
                File.WriteAllBytes(path, []);
                break;
            case "zip-without-pickle":
            case "garbage-pickle":
                using (ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Create))
                {
                    using var writer = new StreamWriter(zip.CreateEntry(kind == "garbage-pickle" ? "archive/data.pkl" : "archive/readme.txt").Open());
                    writer.Write(kind == "garbage-pickle" ? "\u0080\u0002}q\u0000(X" : "not a checkpoint");
                }

                break;
            case "dict-without-model-state":
                using (FileStream stream = File.Create(path))
                {
                    PyTorchPickler.PickleStateDict(stream, new Hashtable { ["weights"] = "elsewhere", ["epoch"] = 3 });
                }

                break;
            case "model-state-not-tensors":
                using (FileStream stream = File.Create(path))
                {
                    PyTorchPickler.PickleStateDict(stream, new Hashtable { ["model_state_dict"] = new Hashtable { ["token_embedding.weight"] = "x" } });
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        return path;
    }

    private static void RunPython(params string[] arguments) => NewLlm.Tests.PythonTorch.Run(Fixture("pytorch_fixtures.py"), arguments);
}
