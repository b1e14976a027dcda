using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace NewLlm.Training.Tests;

/// <summary>The one state, the validate-then-apply restore, the built-in policy callbacks and the refusal of a second run.</summary>
public sealed class RedesignTests
{
    [Fact]
    public async Task AFailedCheckpointLoadLeavesModelOptimizerCallbacksAndTrainerUntouched()
    {
        using var setup = new TinySetup();
        using (var first = setup.CreateTrainer(setup.CreateModel(), setup.Options(2)))
        {
            await first.TrainAsync();
        }

        // A checkpoint whose PyTorch pickle (weights and optimizer state) is damaged but whose hash matches: only loading it can find the fault.
        string good = Path.Combine(setup.Directory, "tiny_final.pt");
        string damaged = Path.Combine(setup.Directory, "damaged.pt");
        RewriteEntry(good, damaged, "archive/data.pkl", bytes => bytes[..(bytes.Length / 3)]);

        TrainerOptions options = setup.Options(4);
        options.OutputDirectory = Path.Combine(setup.Directory, "second");
        using var trainer = setup.CreateTrainer(setup.CreateModel(seed: 11), options);
        await trainer.TrainAsync(); // the trainer now has its own progress, optimizer moments and early-stopping counter
        Dictionary<string, float[]> weights = TinySetup.Weights(trainer.Model);
        byte[] optimizerBefore = OptimizerBytes(trainer);
        TrainerState stateBefore = trainer.State;
        JsonNode earlyStoppingBefore = trainer.Callbacks.OfType<EarlyStopping>().Single().SaveState();
        using TorchSharp.torch.Tensor generatorBefore = TorchSharp.torch.random.get_rng_state();

        var error = Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(damaged));
        Assert.Contains("damaged.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("data.pkl cannot be unpickled", error.Message, StringComparison.Ordinal);

        ResumeTests.AssertSameWeights(weights, trainer.Model);
        Assert.Equal(optimizerBefore, OptimizerBytes(trainer));
        Assert.Same(stateBefore, trainer.State);
        Assert.Equal(4, trainer.State.CompletedEpochs);
        Assert.Equal(earlyStoppingBefore.ToJsonString(), trainer.Callbacks.OfType<EarlyStopping>().Single().SaveState().ToJsonString());
        using TorchSharp.torch.Tensor generatorAfter = TorchSharp.torch.random.get_rng_state();
        Assert.Equal(generatorBefore.data<byte>().ToArray(), generatorAfter.data<byte>().ToArray());

        // The same trainer still loads a good checkpoint afterwards.
        trainer.LoadCheckpoint(good);
        Assert.Equal(2, trainer.State.CompletedEpochs);
    }

    [Fact]
    public async Task TheBuiltInPoliciesAreCallbacksThatCanBeRemoved()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(6);
        options.EarlyStoppingPatience = 1;
        options.EarlyStoppingMinDelta = 100; // stops after epoch 2 while the built-in early stopping is there
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options);
        Assert.Single(trainer.Callbacks.OfType<EarlyStopping>());
        Assert.Single(trainer.Callbacks.OfType<ModelCheckpoint>());
        Assert.Equal(1, trainer.RemoveCallback<EarlyStopping>());
        Assert.Equal(1, trainer.RemoveCallback<ModelCheckpoint>());

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(6, result.EpochsCompleted);
        Assert.Empty(Directory.GetFiles(setup.Directory, "*.pt"));
        Assert.Null(result.BestCheckpointPath);
    }

    [Fact]
    public async Task UserInstancesReplaceTheBuiltInPolicies()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(8); // default options: patience 20, checkpoint every 5 epochs
        var earlyStopping = new EarlyStopping(patience: 2, minDelta: 100);
        var checkpoints = new ModelCheckpoint(saveBest: false, everyEpochs: 1, saveFinal: false);
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, earlyStopping, checkpoints);
        Assert.Same(earlyStopping, Assert.Single(trainer.Callbacks.OfType<EarlyStopping>()));
        Assert.Same(checkpoints, Assert.Single(trainer.Callbacks.OfType<ModelCheckpoint>()));

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(TrainingOutcome.StoppedEarly, result.Outcome);
        Assert.Equal(3, result.EpochsCompleted);
        Assert.Equal(2, earlyStopping.EpochsWithoutImprovement);
        Assert.Equal(
            ["tiny_epoch_1.pt", "tiny_epoch_2.pt", "tiny_epoch_3.pt"],
            Directory.GetFiles(setup.Directory, "*.pt").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AUserCallbackCanRequestAValidationAndABestCheckpoint()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(4);
        options.ValidateEveryEpochs = 10; // only the last epoch is validated, unless asked
        var asker = new ValidateEpoch(2);
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, asker);
        trainer.RemoveCallback<ModelCheckpoint>();

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal([false, true, false, true], result.History.Select(r => r.Validation is not null));
        Assert.Equal(["best_tiny.pt"], Directory.GetFiles(setup.Directory, "*.pt").Select(Path.GetFileName));
        Assert.Equal(2, CheckpointFile.ReadManifest(Path.Combine(setup.Directory, "best_tiny.pt")).State.CompletedEpochs);
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Control.RequestCheckpoint(CheckpointKind.Interrupted));
    }

    [Fact]
    public async Task ASecondConcurrentTrainingCallIsRefused()
    {
        using var setup = new TinySetup();
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var gate = new GateCallback(started, release);
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1, output: false), gate);

        Task<TrainingResult> first = trainer.TrainAsync();
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "the first run did not start");
        var error = Assert.Throws<InvalidOperationException>(() => { _ = trainer.TrainAsync(); });
        Assert.Contains("already training", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => trainer.Train());
        Assert.Throws<InvalidOperationException>(() => trainer.LoadCheckpoint("any.pt"));
        release.Set();

        TrainingResult result = await first;
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(TrainingOutcome.NothingToTrain, trainer.Train().Outcome); // free again once the first has ended (its one epoch is done)
    }

    [Fact]
    public async Task ACheckpointResumesWithItsEarlyStoppingCounterAndAnUnreleasedVersionIsRefused()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(2);
        options.EarlyStoppingPatience = 3;
        options.EarlyStoppingMinDelta = 100;
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), options))
        {
            await trainer.TrainAsync();
        }

        // Version 1 (a development build's, never released) kept the counter in the trainer state, not in a callback state.
        string path = Path.Combine(setup.Directory, "tiny_final.pt");
        string old = Path.Combine(setup.Directory, "old.pt");
        RewriteEntry(path, old, TrainingCheckpoint.ManifestZipName, bytes =>
        {
            JsonObject manifest = JsonNode.Parse(bytes)!.AsObject();
            JsonObject early = manifest["callback_states"]!["early-stopping"]!.AsObject();
            manifest["version"] = 1;
            manifest["state"]!["early_stopping_reference"] = early["reference"]!.DeepClone();
            manifest["state"]!["epochs_without_improvement"] = early["epochs_without_improvement"]!.DeepClone();
            manifest["callback_states"]!.AsObject().Remove("early-stopping");
            return System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        });

        TrainerOptions resumed = setup.Options(10);
        resumed.EarlyStoppingPatience = 3;
        resumed.EarlyStoppingMinDelta = 100;
        using var again = setup.CreateTrainer(setup.CreateModel(), resumed);
        var error = Assert.Throws<InvalidDataException>(() => again.LoadCheckpoint(old));
        Assert.Contains("old.pt", error.Message, StringComparison.Ordinal);
        Assert.Contains("version 1 is not supported", error.Message, StringComparison.Ordinal);
        again.LoadCheckpoint(path);
        Assert.Equal(1, again.Callbacks.OfType<EarlyStopping>().Single().EpochsWithoutImprovement);
        Assert.Equal(2, again.State.CompletedEpochs);
        TrainingResult result = await again.TrainAsync();
        Assert.Equal(TrainingOutcome.StoppedEarly, result.Outcome);
        Assert.Equal(4, result.EpochsCompleted);
    }

    /// <summary>Copies a checkpoint with one entry changed, its hash in the manifest (and the manifest's own hash) fixed to match.</summary>
    private static void RewriteEntry(string source, string destination, string entryName, Func<byte[], byte[]> change)
    {
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (ZipArchive zip = ZipFile.OpenRead(source))
        {
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                using var buffer = new MemoryStream();
                using (Stream stream = entry.Open())
                {
                    stream.CopyTo(buffer);
                }

                entries[entry.FullName] = buffer.ToArray();
            }
        }

        entries[entryName] = change(entries[entryName]);
        if (entryName != TrainingCheckpoint.ManifestZipName)
        {
            JsonObject manifest = JsonNode.Parse(entries[TrainingCheckpoint.ManifestZipName])!.AsObject();
            manifest["entry_hashes"]![entryName["archive/".Length..]] = Convert.ToHexStringLower(SHA256.HashData(entries[entryName]));
            entries[TrainingCheckpoint.ManifestZipName] = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());
        }

        if (entries.ContainsKey(TrainingCheckpoint.ManifestHashZipName))
        {
            entries[TrainingCheckpoint.ManifestHashZipName] = System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(entries[TrainingCheckpoint.ManifestZipName])));
        }

        using FileStream file = File.Create(destination);
        using var output = new ZipArchive(file, ZipArchiveMode.Create);
        foreach ((string name, byte[] bytes) in entries)
        {
            using Stream stream = output.CreateEntry(name, CompressionLevel.NoCompression).Open();
            stream.Write(bytes);
        }
    }

    /// <summary>The PyTorch records of a checkpoint of the trainer now (the pickle and every storage: weights and optimizer state).</summary>
    private static byte[] OptimizerBytes(Trainer trainer)
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string path = temp.Combine("optimizer.pt");
        trainer.SaveCheckpoint(path);
        using ZipArchive zip = ZipFile.OpenRead(path);
        using var buffer = new MemoryStream();
        foreach (ZipArchiveEntry entry in zip.Entries.Where(e => e.FullName == "archive/data.pkl" || e.FullName.StartsWith("archive/data/", StringComparison.Ordinal)))
        {
            using Stream stream = entry.Open();
            stream.CopyTo(buffer);
        }

        return buffer.ToArray();
    }

    private sealed class ValidateEpoch(int epoch) : ITrainerCallback
    {
        public void OnEpochBegin(TrainerContext context)
        {
            if (context.State.Epoch == epoch)
            {
                context.Control.RequestValidation();
            }
        }

        public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics)
        {
            if (context.State.Epoch == epoch)
            {
                context.Control.RequestCheckpoint(CheckpointKind.Best);
            }
        }
    }

    private sealed class GateCallback(ManualResetEventSlim started, ManualResetEventSlim release) : ITrainerCallback
    {
        public void OnTrainBegin(TrainerContext context)
        {
            if (!started.IsSet)
            {
                started.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }
        }
    }
}
