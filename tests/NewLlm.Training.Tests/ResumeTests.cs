
namespace NewLlm.Training.Tests;

public sealed class ResumeTests
{
    [Fact]
    public async Task FourEpochsEqualTwoPlusResumePlusTwoBitForBit()
    {
        using var setup = new TinySetup();
        (NewLlmModel straight, string straightDirectory) = await TrainStraightAsync(setup, 4);

        TrainerOptions firstHalf = setup.Options(2);
        firstHalf.OutputDirectory = Path.Combine(setup.Directory, "split");
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), firstHalf))
        {
            await trainer.TrainAsync();
        }

        NewLlmModel resumedModel = setup.CreateModel(seed: 99); // different initial weights: all must come from the checkpoint
        TrainerOptions secondHalf = setup.Options(4);
        secondHalf.OutputDirectory = firstHalf.OutputDirectory;
        TrainingResult result;
        using (var trainer = setup.CreateTrainer(resumedModel, secondHalf))
        {
            trainer.LoadCheckpoint(Path.Combine(firstHalf.OutputDirectory, "tiny_final.pt"));
            result = await trainer.TrainAsync();
        }

        Assert.Equal(4, result.EpochsCompleted);
        Assert.Equal(new[] { 1, 2, 3, 4 }, result.History.Select(r => r.Epoch));
        AssertSameWeights(straight, resumedModel);

        // The resumed run continues the same history, progress file and CSV.
        var progress = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(firstHalf.OutputDirectory, "tiny_progress.json")))!;
        Assert.Equal(4, progress["current_epoch"]!.GetValue<int>());
        Assert.Equal(4, progress["val_losses"]!.AsArray().Count);
        Assert.Equal(5, (await File.ReadAllLinesAsync(Path.Combine(firstHalf.OutputDirectory, "tiny_metrics.csv"))).Length);
        var straightHistory = CheckpointFile.ReadManifest(Path.Combine(straightDirectory, "tiny_final.pt")).State.History;
        Assert.Equal(straightHistory.Select(r => r.Validation!.Loss), result.History.Select(r => r.Validation!.Loss));
        Assert.Equal(straightHistory.Select(r => r.TrainLoss), result.History.Select(r => r.TrainLoss));
    }

    [Fact]
    public async Task CancellationWritesAResumableCheckpointThatContinuesExactly()
    {
        using var setup = new TinySetup();
        (NewLlmModel straight, _) = await TrainStraightAsync(setup, 3);

        using var cts = new CancellationTokenSource();
        var canceller = new CancelAt(cts, epoch: 2, batch: 2);
        TrainerOptions interrupted = setup.Options(3);
        interrupted.OutputDirectory = Path.Combine(setup.Directory, "interrupted");
        TrainingResult stopped;
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), interrupted, canceller))
        {
            stopped = await trainer.TrainAsync(cts.Token);
        }

        Assert.Equal(TrainingOutcome.Cancelled, stopped.Outcome);
        string path = Path.Combine(interrupted.OutputDirectory, "tiny_interrupted.pt");
        Assert.Equal(path, stopped.LastCheckpointPath);
        CheckpointManifest manifest = CheckpointFile.ReadManifest(path);
        Assert.Equal(1, manifest.State.CompletedEpochs);
        Assert.Equal(3, manifest.State.BatchesIntoEpoch);
        Assert.Equal(8, manifest.State.GlobalStep);

        NewLlmModel resumed = setup.CreateModel(seed: 5);
        using (var trainer = setup.CreateTrainer(resumed, interrupted))
        {
            trainer.LoadCheckpoint(path);
            TrainingResult result = await trainer.TrainAsync();
            Assert.Equal(TrainingOutcome.Completed, result.Outcome);
            Assert.Equal(15, result.GlobalStep);
        }

        AssertSameWeights(straight, resumed);
    }

    /// <summary>The uninterrupted run to compare with: <paramref name="epochs"/> epochs into the folder "straight".</summary>
    internal static async Task<(NewLlmModel Model, string Directory)> TrainStraightAsync(TinySetup setup, int epochs)
    {
        NewLlmModel model = setup.CreateModel();
        TrainerOptions options = setup.Options(epochs);
        string directory = Path.Combine(setup.Directory, "straight");
        options.OutputDirectory = directory;
        using (var trainer = setup.CreateTrainer(model, options))
        {
            await trainer.TrainAsync();
        }

        return (model, directory);
    }

    internal static void AssertSameWeights(LanguageModel expected, LanguageModel actual) => AssertSameWeights(TinySetup.Weights(expected), actual);

    internal static void AssertSameWeights(Dictionary<string, float[]> a, LanguageModel actual)
    {
        Dictionary<string, float[]> b = TinySetup.Weights(actual);
        Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
        foreach ((string name, float[] values) in a)
        {
            Assert.True(values.AsSpan().SequenceEqual(b[name]), $"parameter {name} differs");
        }
    }

    private sealed class CancelAt(CancellationTokenSource source, int epoch, int batch) : ITrainerCallback
    {
        public void OnBatchEnd(TrainerContext context, BatchResult result)
        {
            if (result.Epoch == epoch && result.BatchIndex == batch)
            {
                source.Cancel();
            }
        }
    }
}
