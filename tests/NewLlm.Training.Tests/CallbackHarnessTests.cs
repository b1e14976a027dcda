using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using NewLlm.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Training.Tests;

/// <summary>The callback test kit: <see cref="CallbackHarness"/> and the public <see cref="TrainerContext"/>, on the project's own callbacks.</summary>
public sealed class CallbackHarnessTests
{
    [Fact]
    public void TheHarnessRaisesTheEventsOfARealTrainerRunInTheSameOrder()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(epochs: 3);
        options.CheckpointEveryEpochs = 2;
        var names = new EventNames();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), options, names))
        {
            trainer.Train();
            using var output = new TempDirectory();
            TrainerOptions harnessOptions = options.Clone();
            harnessOptions.OutputDirectory = output.Path;
            var harness = new CallbackHarness(
                [new ModelCheckpoint(options.SaveBestCheckpoint, options.CheckpointEveryEpochs, options.SaveFinalCheckpoint)],
                harnessOptions,
                state: TrainerState.Create(batchesPerEpoch: trainer.State.BatchesPerEpoch, seed: options.Seed));
            foreach (EpochRecord record in trainer.State.History)
            {
                harness.Epoch(record.TrainLoss, record.Validation);
            }

            harness.End();

            Assert.Equal(names.Names, harness.Events.Select(e => e.Name));
            Assert.Equal(
                trainer.State.History.Select(r => (r.Epoch, r.GlobalStep, r.IsBest)),
                harness.State.History.Select(r => (r.Epoch, r.GlobalStep, r.IsBest)));
            Assert.Equal(
                [CheckpointKind.Best, CheckpointKind.Periodic, CheckpointKind.Final],
                harness.Checkpoints.Select(c => c.Info.Kind).Distinct());
        }
    }

    [Fact]
    public void EarlyStoppingStopsAfterPatienceEpochsWithoutImprovementAndItsStateRoundTrips()
    {
        var harness = new CallbackHarness([new EarlyStopping(patience: 2, minDelta: 0.01)]);

        TrainingResult result = harness.Run(3.0, 2.5, 2.495, 2.6, 2.0);

        Assert.Equal(TrainingOutcome.StoppedEarly, result.Outcome);
        Assert.Equal(4, result.EpochsCompleted);
        CallbackEvent stop = harness.Events.First(e => e.Requests.Stop);
        Assert.Equal((nameof(ITrainerCallback.OnEvaluationEnd), 4), (stop.Name, stop.Epoch));
        Assert.True(stop.Requests.IsEarlyStop);

        var restored = new EarlyStopping(patience: 2, minDelta: 0.01);
        restored.LoadState(harness.CaptureStates()["early-stopping"]);
        Assert.Equal((2.5, 2), (restored.Reference, restored.EpochsWithoutImprovement));
    }

    [Fact]
    public void ModelCheckpointAsksForTheBestPeriodicStepAndFinalCheckpointsAndTheStateRecordsThem()
    {
        using var output = new TempDirectory();
        var options = new TrainerOptions { ModelName = "m", OutputDirectory = output.Path };
        var harness = new CallbackHarness(
            [new ModelCheckpoint(saveBest: true, everyEpochs: 2, saveFinal: true, everySteps: 3), new EarlyStopping(patience: 5)],
            options,
            state: TrainerState.Create(batchesPerEpoch: 2));

        harness.Run(3.0, 2.0, 2.5);

        Assert.Equal(
            [(CheckpointKind.Best, 1), (CheckpointKind.Step, 2), (CheckpointKind.Best, 2), (CheckpointKind.Periodic, 2), (CheckpointKind.Step, 3), (CheckpointKind.Final, 3)],
            harness.Checkpoints.Select(c => (c.Info.Kind, c.Info.Epoch)));
        Assert.Equal(Path.Combine(output.Path, "best_m.pt"), harness.State.BestCheckpointPath);
        Assert.Equal(Path.Combine(output.Path, "m_final.pt"), harness.State.LastCheckpointPath);
        Assert.Equal(2, harness.State.BestEpoch);
        // Every checkpoint holds the stateful callbacks' state as it stood when it was written.
        Assert.Equal(1, (int)harness.Checkpoints[^1].CallbackStates["early-stopping"]["epochs_without_improvement"]!);
    }

    [Fact]
    public void DivergenceMonitorWarnsWhenTheTrainingLossIsWorseThanGuessing()
    {
        var logger = new ListLogger();
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 8, HiddenDim = 16, ContextDim = 8 });
        var harness = new CallbackHarness([new DivergenceMonitor(logger)], model: model);

        harness.Epoch(3.0, 3.1).Epoch(Math.Log(50) + 1.5, 9.0);

        (LogLevel level, string message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.StartsWith("Epoch 2: the training loss", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACallbackThatReadsTheModelOfAContextWithoutOneIsToldToPassOne()
    {
        var harness = new CallbackHarness([new DivergenceMonitor()]);

        var error = Assert.Throws<InvalidOperationException>(() => harness.Epoch(3.0));

        Assert.Contains("created without a model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FreezeBaseContextDimensionsZeroesTheBaseRowsOfTheGradientsAfterBackward()
    {
        using var model = new NewLlmModel(new NewLlmOptions { VocabSize = 20, EmbedDim = 4, HiddenDim = 8, ContextDim = 6, Seed = 1 });
        torch.stack(model.parameters().Select(p => p.sum())).sum().backward(); // every gradient 1
        var harness = new CallbackHarness([new FreezeBaseContextDimensions(baseContextDim: 4)], model: model);

        harness.Epoch(2.0);

        Tensor first = model.named_parameters().Single(p => p.name == "fnn_layers.0.weight").parameter.grad!;
        Assert.Equal(0f, first.narrow(1, 4, 4).abs().sum().item<float>());
        Assert.Equal(first.shape[0] * (first.shape[1] - 4), first.sum().item<float>());
        Assert.Throws<InvalidOperationException>(() => new CallbackHarness([new FreezeBaseContextDimensions(baseContextDim: 6)], model: model).Begin());
    }

    [Fact]
    public void AStateAtAnyPointGivesTheBestLossByTheTrainersRule()
    {
        EvaluationMetrics Val(double loss) => new(loss, 0.5, 1.0, 100, 400);
        TrainerState state = TrainerState.Create(
            [new EpochRecord(1, 10, 0.001, 3.0, Val(2.9), true, 1, 1), new EpochRecord(2, 20, 0.001, 2.5, null, false, 1, 1), new EpochRecord(3, 30, 0.001, 2.4, Val(2.9), false, 1, 1)],
            lastCheckpointPath: "runs/m_epoch_3.pt");
        var context = new TrainerContext(new TrainerOptions(), state);

        Assert.Equal((3, 30L, 2.9, 1), (context.State.Epoch, context.State.GlobalStep, context.State.BestValidationLoss, context.State.BestEpoch));
        Assert.Equal("runs/m_epoch_3.pt", context.State.LastCheckpointPath);
        Assert.Throws<ArgumentException>(() => TrainerState.Create([new EpochRecord(2, 1, 0, 1, null, false, 0, 0), new EpochRecord(1, 2, 0, 1, null, false, 0, 0)]));
    }

    [Fact]
    public void ExceptionsReachEveryCallbackAndEndTheRun()
    {
        var names = new EventNames();
        var harness = new CallbackHarness([new ThrowingOnException(), names]);

        harness.Epoch(1.0).Fail(new TimeoutException("disk"));

        Assert.Equal(nameof(ITrainerCallback.OnException), names.Names[^1]);
        Assert.Throws<InvalidOperationException>(() => harness.Epoch(1.0));
    }

    [Fact]
    public void AnEpochAfterAStopRequestIsRefusedAsTheTrainerWouldNotStartIt()
    {
        var harness = new CallbackHarness([new EarlyStopping(patience: 1)]);

        harness.Epoch(2.0, 2.0).Epoch(2.0, 2.0);

        var error = Assert.Throws<InvalidOperationException>(() => harness.Epoch(1.0, 1.0));
        Assert.Contains("asked to stop", error.Message, StringComparison.Ordinal);
        Assert.Equal(TrainingOutcome.StoppedEarly, harness.End().Outcome);
    }

    /// <summary>Records the name of every event.</summary>
    private sealed class EventNames : ITrainerCallback
    {
        public List<string> Names { get; } = [];

        public void OnTrainBegin(TrainerContext context) => Names.Add(nameof(OnTrainBegin));

        public void OnEpochBegin(TrainerContext context) => Names.Add(nameof(OnEpochBegin));

        public void OnAfterBackward(TrainerContext context) => Names.Add(nameof(OnAfterBackward));

        public void OnBatchEnd(TrainerContext context, BatchResult batch) => Names.Add(nameof(OnBatchEnd));

        public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) => Names.Add(nameof(OnEvaluationEnd));

        public void OnEpochEnd(TrainerContext context, EpochRecord record) => Names.Add(nameof(OnEpochEnd));

        public void OnCheckpointSaved(TrainerContext context, CheckpointInfo checkpoint) => Names.Add(nameof(OnCheckpointSaved));

        public void OnTrainEnd(TrainerContext context, TrainingResult result) => Names.Add(nameof(OnTrainEnd));

        public void OnException(TrainerContext context, Exception exception) => Names.Add(nameof(OnException));
    }

    private sealed class ThrowingOnException : ITrainerCallback
    {
        public void OnException(TrainerContext context, Exception exception) => throw new InvalidOperationException("a broken handler");
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }
}
