using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using NewLlm.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Training.Tests;

/// <summary>
/// The trainer's checkpoints are PyTorch files with the original trainer's dict, and the trainer resumes from the
/// original's checkpoint. Fixtures/pytorch/checkpoint.pt (the original's layout, Adam after 3 steps; from the Core
/// tests) and resume_steps.json (PyTorch's next Adam steps from it, made by training_checks.py make-resume) need no
/// PyTorch; the round trip through torch.load runs only where /usr/bin/python3 imports torch.
/// </summary>
public sealed class PyTorchCheckpointTests
{

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pytorch", name);

    [Fact]
    public async Task TheTrainersCheckpointIsAPyTorchFileWithTheOriginalsDictAndNewLlmsRecordsUnderItsFolder()
    {
        using var setup = new TinySetup();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        await trainer.TrainAsync();
        string path = Path.Combine(setup.Directory, "tiny_final.pt");

        using (ZipArchive zip = ZipFile.OpenRead(path))
        {
            Assert.Equal("archive/data.pkl", zip.Entries[0].FullName); // the first record's folder names the archive for PyTorch
            Assert.All(zip.Entries, e => Assert.StartsWith("archive/", e.FullName, StringComparison.Ordinal));
            Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength)); // stored
            string[] names = [.. zip.Entries.Select(e => e.FullName)];
            Assert.Contains("archive/version", names);
            Assert.Contains("archive/byteorder", names);
            Assert.Contains("archive/newllm/manifest.json", names);
            Assert.Contains("archive/newllm/manifest.sha256", names);
            Assert.Contains("archive/newllm/rng.bin", names);
            Assert.Contains("archive/newllm/tokenizer.json", names);
            Assert.DoesNotContain(names, n => n.EndsWith("model.bin", StringComparison.Ordinal) || n.EndsWith("optimizer.bin", StringComparison.Ordinal));

            // The optimizer's dict in PyTorch's key order, so that the same state gives the same bytes in every process.
            using var pickle = new MemoryStream();
            using (Stream data = zip.GetEntry("archive/data.pkl")!.Open())
            {
                data.CopyTo(pickle);
            }

            byte[] bytes = pickle.ToArray();
            int optimizer = bytes.AsSpan().IndexOf("optimizer_state_dict"u8);
            int state = bytes.AsSpan(optimizer).IndexOf("\u0005\u0000\u0000\u0000state"u8), groups = bytes.AsSpan(optimizer).IndexOf("param_groups"u8);
            Assert.True(optimizer > 0 && state > 0 && groups > state, $"'optimizer_state_dict' at {optimizer}, its 'state' at +{state}, 'param_groups' at +{groups}");
        }

        using PyTorchCheckpoint read = PyTorchCheckpoint.Read(path);
        Assert.False(read.IsStateDictOnly);
        foreach ((string name, Tensor value) in trainer.Model.state_dict())
        {
            Assert.Equal(value.cpu().data<float>().ToArray(), read.ModelState[name].data<float>().ToArray());
        }

        Assert.Equal(1, read.CurrentEpoch); // the original's convention: the 0-based index of the last epoch done
        Assert.Equal(2, read.CompletedEpochs);
        Assert.Equal(trainer.State.History.Select(r => r.TrainLoss), read.TrainLosses);
        Assert.Equal(trainer.State.History.Select(r => r.Validation!.BatchMeanLoss), read.ValLosses); // the original's figure, under the original's key
        Assert.All(trainer.State.History, r => Assert.NotEqual(r.Validation!.Loss, r.Validation.BatchMeanLoss));
        Assert.Equal(trainer.State.History.Select(r => r.TrainPerplexity), read.TrainPpls);
        Assert.Equal(trainer.Model.named_parameters().Count(), read.Optimizer!.State.Count);
        Assert.All(read.Optimizer.State.Values, s => Assert.Equal(trainer.State.GlobalStep, s.Step));
        Assert.Equal(0.01, read.Optimizer.ParamGroups.Single().LearningRate);
        Assert.Equal(setup.ModelOptions!.VocabSize, read.Config["vocab_size"]);
        Assert.Equal(setup.ModelOptions!.ContextDim, read.Config["context_vector_dim"]);
        Assert.Equal(2, CheckpointFile.ReadManifest(path).State.CompletedEpochs);
    }

    [SkippableFact]
    public async Task TorchLoadWithWeightsOnlyReadsTheTrainersCheckpointAndTheOriginalsLoadCheckpointContinuesIt()
    {
        Skip.If(NewLlm.Tests.PythonTorch.SkipReason is not null, NewLlm.Tests.PythonTorch.SkipReason);
        using var setup = new TinySetup();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2));
        await trainer.TrainAsync();
        string path = Path.Combine(setup.Directory, "tiny_final.pt");
        long[][] ids = [[1, 4, 5, 6, 2, 3, 7], [2, 8, 9, 3, 4, 10, 11]];
        string idsPath = Path.Combine(setup.Directory, "ids.json");
        string outPath = Path.Combine(setup.Directory, "found.json");
        await File.WriteAllTextAsync(idsPath, JsonSerializer.Serialize(ids));

        RunPython("check-newllm", path, idsPath, outPath);

        JsonNode found = JsonNode.Parse(await File.ReadAllTextAsync(outPath))!;
        Assert.Equal(
            new[] { "config", "current_epoch", "model_state_dict", "optimizer_state_dict", "train_losses", "train_ppls", "val_losses", "val_ppls" },
            found["keys"]!.AsArray().Select(k => k!.GetValue<string>()));
        Assert.Equal(1, found["current_epoch"]!.GetValue<int>());
        Assert.Equal(2, found["start_epoch"]!.GetValue<int>()); // the original's resume trains the third epoch (index 2) next
        Assert.Equal(0.01, found["lr"]!.GetValue<double>());
        Assert.Equal(trainer.State.History.Select(r => r.TrainLoss), found["train_losses"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.All(found["steps"]!.AsArray(), s => Assert.Equal(trainer.State.GlobalStep, s!.GetValue<double>()));
        Assert.All(found["steps_after"]!.AsArray(), s => Assert.Equal(trainer.State.GlobalStep + 1, s!.GetValue<double>()));

        using var scope = NewDisposeScope();
        trainer.Model.eval();
        float[] logits;
        using (torch.no_grad())
        {
            logits = trainer.Model.call(torch.tensor(ids.SelectMany(r => r).ToArray(), [2, 7])).reshape(-1).data<float>().ToArray();
        }

        double[] pytorch = [.. found["logits"]!.AsArray().Select(v => v!.GetValue<double>())];
        Assert.Equal(logits.Length, pytorch.Length);
        Assert.All(logits.Zip(pytorch), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4, $"{p.First} vs PyTorch {p.Second}"));
    }

    [Fact]
    public async Task ResumingFromTheOriginalsCheckpointTakesTheSameAdamStepsAsPyTorch()
    {
        using var setup = new TinySetup();
        JsonNode expected = JsonNode.Parse(await File.ReadAllTextAsync(Fixture("resume_steps.json")))!;
        LanguageModelBatch batch = setup.Train.GetBatches(setup.Train.Count, shuffle: false, random: null).Single();
        string? dump = Environment.GetEnvironmentVariable("NEWLLM_DUMP_RESUME_BATCH");
        if (dump is not null)
        {
            await File.WriteAllTextAsync(dump, JsonSerializer.Serialize(new { inputs = batch.Inputs, targets = batch.Targets, batch = batch.BatchSize, seq = batch.SequenceLength, pad_id = setup.Train.PadId, steps = 2 }));
        }

        Assert.True(
            expected["inputs"]!.AsArray().Select(v => v!.GetValue<long>()).SequenceEqual(batch.Inputs) && expected["targets"]!.AsArray().Select(v => v!.GetValue<long>()).SequenceEqual(batch.Targets),
            "The fixture's batch is not this corpus's: regenerate resume_steps.json (see training_checks.py make-resume).");

        TorchBackend.EnsureLoaded();
        var model = new NewLlmModel(new NewLlmOptions { VocabSize = 37, EmbedDim = 12, HiddenDim = 20, ContextDim = 10, NumLayers = 2, Dropout = 0 });
        var options = new TrainerOptions
        {
            ModelName = "resumed",
            Epochs = 5,
            BatchSize = setup.Train.Count,
            Shuffle = false,
            LearningRate = 1e-3,
            Beta1 = 0.85,
            Beta2 = 0.97,
            Epsilon = 1e-7,
            WeightDecay = 0.01,
            GradientClipSchedule = GradientClipSchedule.None,
            Seed = 3,
        };
        var logger = new ListLogger();
        using var trainer = new Trainer(model, setup.Train, validationData: null, options, setup.Tokenizer, logger: logger);

        trainer.LoadCheckpoint(Fixture("checkpoint.pt"));

        Assert.Equal(3, trainer.State.Epoch);
        Assert.Equal(3, trainer.State.GlobalStep);
        Assert.Equal(new[] { 4.25, 3.5, 3.125 }, trainer.State.History.Select(r => r.TrainLoss));
        // The original's validation losses are batch means: kept as such, never compared with this run's token-weighted ones.
        Assert.Equal(new[] { 4.0, 3.75, 3.625 }, trainer.State.History.Select(r => r.Validation!.BatchMeanLoss));
        Assert.All(trainer.State.History, r => Assert.True(double.IsNaN(r.Validation!.Loss) && !r.IsBest));
        Assert.Null(trainer.State.BestValidationLoss);
        Assert.Equal(0, trainer.State.BestEpoch);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("tokenizer was not checked", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning); // the options match the checkpoint's Adam

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(5, result.EpochsCompleted);
        Assert.Equal(5, result.GlobalStep);
        double[] pytorch = [.. expected["losses"]!.AsArray().Select(v => v!.GetValue<double>())];
        double[] ours = [.. result.History.Skip(3).Select(r => r.TrainLoss)];
        Assert.Equal(pytorch.Length, ours.Length);
        Assert.All(ours.Zip(pytorch), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4, $"loss {p.First} vs PyTorch {p.Second}"));
    }

    [Fact]
    public void AnOriginalCheckpointOfAnotherShapeIsRefusedNamingBothShapesAndChangesNothing()
    {
        using var setup = new TinySetup();
        NewLlmModel model = setup.CreateModel();
        using var trainer = setup.CreateTrainer(model, setup.Options(4, output: false));
        Dictionary<string, float[]> before = TinySetup.Weights(model);

        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(Fixture("checkpoint.pt")));

        Assert.Contains("checkpoint.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("VocabSize=37, EmbedDim=12, HiddenDim=20, ContextDim=10, NumLayers=2", error.Message, StringComparison.Ordinal);
        NewLlmOptions own = setup.ModelOptions;
        Assert.Contains($"VocabSize={own.VocabSize}, EmbedDim={own.EmbedDim}, HiddenDim={own.HiddenDim}, ContextDim={own.ContextDim}, NumLayers={own.NumLayers}", error.Message, StringComparison.Ordinal);
        ResumeTests.AssertSameWeights(before, model);
        Assert.Equal(0, trainer.State.Epoch);
    }

    private static void RunPython(params string[] arguments) => NewLlm.Tests.PythonTorch.Run(Fixture("training_checks.py"), arguments);

    private sealed class ListLogger : ILogger<Trainer>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }
}
