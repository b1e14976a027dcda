using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace NewLlm.Training.Tests;

public sealed class LogEventTests
{
    [Fact]
    public async Task ATrainingRunLogsSmallStableNamedEventIds()
    {
        using var setup = new TinySetup();
        var logger = new FakeLogger<Trainer>();
        using (var first = new Trainer(setup.CreateModel(), setup.Train, setup.Validation, setup.Options(2), setup.Tokenizer, callbacks: [new LoggerReporter(logger)], logger: logger))
        {
            await first.TrainAsync();
        }

        // Resumed with another seed, then failed by a callback.
        TrainerOptions options = setup.Options(4);
        options.Seed = 4;
        using var resumed = new Trainer(setup.CreateModel(), setup.Train, setup.Validation, options, setup.Tokenizer, callbacks: [new LoggerReporter(logger), new FailAtEpochEnd()], logger: logger);
        resumed.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => resumed.TrainAsync());

        IReadOnlyList<FakeLogRecord> records = logger.Collector.GetSnapshot();
        Assert.All(records.Where(r => r.Level >= LogLevel.Information), r => Assert.InRange(r.Id.Id, 300, 399));
        Assert.All(records.Where(r => r.Level >= LogLevel.Information), r => Assert.False(string.IsNullOrEmpty(r.Id.Name), $"'{r.Message}' has no event name"));
        (int, string)[] events = [.. records.Where(r => r.Level >= LogLevel.Information).Select(r => (r.Id.Id, r.Id.Name!)).Distinct()];
        Assert.Equal(
            [(300, "TrainingStarted"), (303, "CheckpointSaved"), (301, "EpochEnded"), (304, "TrainingEnded"), (312, "CheckpointSeedDiffers"), (311, "ResumedFromCheckpoint"), (305, "TrainingFailed")],
            events);
        Assert.Equal(2, records.Count(r => r.Id.Id == 305)); // the trainer's error and the reporter's
        Assert.Equal(LogLevel.Warning, records.Single(r => r.Id.Id == 312).Level);
    }

    private sealed class FailAtEpochEnd : ITrainerCallback
    {
        public void OnEpochEnd(TrainerContext context, EpochRecord record) => throw new InvalidOperationException("a callback failed");
    }
}
