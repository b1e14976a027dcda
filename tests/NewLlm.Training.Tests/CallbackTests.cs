using System.Text.Json.Nodes;

namespace NewLlm.Training.Tests;

public sealed class CallbackTests
{
    [Fact]
    public async Task CallbacksSeeEventsInOrder()
    {
        using var setup = new TinySetup();
        var recorder = new RecordingCallback();
        TrainerOptions options = setup.Options(5);
        options.WriteReports = false;
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, recorder);
        await trainer.TrainAsync();

        var expected = new List<string> { "train-begin" };
        var bestEpochs = trainer.State.History.Where(r => r.IsBest).Select(r => r.Epoch).ToHashSet();
        for (int epoch = 1; epoch <= 5; epoch++)
        {
            expected.Add($"epoch-begin {epoch}");
            expected.Add($"batches {epoch}");
            expected.Add($"evaluation {epoch}");
            if (bestEpochs.Contains(epoch))
            {
                expected.Add($"checkpoint Best {epoch}");
            }

            expected.Add($"epoch-end {epoch}");
        }

        expected.Add("checkpoint Periodic 5");
        expected.Add("checkpoint Final 5");
        expected.Add("train-end Completed");
        Assert.Equal(expected, recorder.Events);
        Assert.Equal(25, recorder.Batches.Count);
        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), recorder.Batches.Select(b => b.GlobalStep));
    }

    [Fact]
    public async Task ACallbackCanStopTrainingAndAskForACheckpoint()
    {
        using var setup = new TinySetup();
        var control = new StopAtEpochCallback(2);
        TrainerOptions options = setup.Options(10);
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, control);
        TrainingResult result = await trainer.TrainAsync();
        Assert.Equal(TrainingOutcome.StopRequested, result.Outcome);
        Assert.Equal(2, result.EpochsCompleted);
        Assert.Contains("enough", result.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(setup.Directory, "tiny_epoch_1.pt")));
        Assert.True(File.Exists(Path.Combine(setup.Directory, "tiny_final.pt")));
    }

    [Fact]
    public async Task EarlyStoppingStopsAfterPatienceEpochsWithoutImprovementAndSurvivesResume()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(10);
        options.EarlyStoppingPatience = 3;
        options.EarlyStoppingMinDelta = 100; // nothing counts as an improvement after the first epoch
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), options))
        {
            TrainingResult result = await trainer.TrainAsync();
            Assert.Equal(TrainingOutcome.StoppedEarly, result.Outcome);
            Assert.Equal(4, result.EpochsCompleted);
        }

        // Stop after epoch 2 (counter at 1), resume: the counter continues, so training stops after epoch 4 again.
        using var again = new TinySetup();
        TrainerOptions first = again.Options(2);
        first.EarlyStoppingPatience = 3;
        first.EarlyStoppingMinDelta = 100;
        using (var trainer = again.CreateTrainer(again.CreateModel(), first))
        {
            await trainer.TrainAsync();
            Assert.Equal(1, trainer.Callbacks.OfType<EarlyStopping>().Single().EpochsWithoutImprovement);
        }

        TrainerOptions second = again.Options(10);
        second.EarlyStoppingPatience = 3;
        second.EarlyStoppingMinDelta = 100;
        using var resumed = again.CreateTrainer(again.CreateModel(), second);
        resumed.LoadCheckpoint(Path.Combine(again.Directory, "tiny_final.pt"));
        TrainingResult after = await resumed.TrainAsync();
        Assert.Equal(TrainingOutcome.StoppedEarly, after.Outcome);
        Assert.Equal(4, after.EpochsCompleted);
    }

    [Fact]
    public async Task CallbackStateIsSavedInCheckpointsAndRestoredOnResume()
    {
        using var setup = new TinySetup();
        var counter = new BatchCounter();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2), counter))
        {
            await trainer.TrainAsync();
        }

        Assert.Equal(10, counter.Count);
        var restored = new BatchCounter();
        using var resumed = setup.CreateTrainer(setup.CreateModel(), setup.Options(3), restored);
        resumed.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt"));
        await resumed.TrainAsync();
        Assert.Equal(15, restored.Count);
        JsonNode? saved = CheckpointFile.ReadManifest(Path.Combine(setup.Directory, "tiny_final.pt")).CallbackStates["batch-counter"];
        Assert.Equal(15, saved!["count"]!.GetValue<int>());
    }

    private sealed class StopAtEpochCallback(int epoch) : ITrainerCallback
    {
        public void OnEpochEnd(TrainerContext context, EpochRecord record)
        {
            if (record.Epoch == 1)
            {
                context.Control.RequestCheckpoint();
            }

            if (record.Epoch == epoch)
            {
                context.Control.RequestStop("enough");
            }
        }
    }

    private sealed class BatchCounter : ITrainerCallback, ICheckpointStateful
    {
        public int Count { get; private set; }

        public string StateKey => "batch-counter";

        public void OnBatchEnd(TrainerContext context, BatchResult batch) => Count++;

        public JsonNode SaveState() => new JsonObject { ["count"] = Count };

        public void LoadState(JsonNode state) => Count = state["count"]!.GetValue<int>();
    }
}
