namespace NewLlm.Training.Tests;

/// <summary><see cref="TrainingProgressReporter"/>, driven through <see cref="CallbackHarness"/>.</summary>
public sealed class TrainingProgressTests
{
    [Fact]
    public void EachBatchReportsItsPlaceTokensPerSecondAndTheTimeLeft()
    {
        var seen = new List<TrainingProgress>();
        var reporter = new TrainingProgressReporter(new Sink(seen.Add));
        var harness = new CallbackHarness([reporter], new TrainerOptions { Epochs = 3 }, state: TrainerState.Create(batchesPerEpoch: 4));

        harness.Epoch(2.5).Epoch(2.0);

        Assert.Equal([1, 2, 3, 4, 1, 2, 3, 4], seen.Select(p => p.Batch));
        Assert.All(seen, p => Assert.Equal((3, 4), (p.Epochs, p.Batches)));
        Assert.Equal([2.5, 2.0], seen.Where(p => p.Batch == 4).Select(p => p.Loss));
        Assert.All(seen, p => Assert.True(p.TokensPerSecond >= 0));
        Assert.Equal(TimeSpan.Zero, seen[^1].Remaining); // the epoch's last batch: nothing left
        Assert.All(seen.Where(p => p.Batch < p.Batches), p => Assert.NotNull(p.Remaining));
        Assert.Same(seen[^1], reporter.Latest);
    }

    [Fact]
    public void TheLineSaysWhereTheEpochStands()
    {
        var progress = new TrainingProgress(2, 6, 120, 540, 4.71214, 15300.4, TimeSpan.FromSeconds(41));

        Assert.Equal("epoch 2/6: batch 120/540 (22%), loss 4.7121, 15,300 tok/s, 0:00:41 left", progress.ToString());
        Assert.Equal("epoch 1/1: batch 0/0 (100%), loss NaN, 0 tok/s", new TrainingProgress(1, 1, 0, 0, double.NaN, 0, null).ToString());
    }

    private sealed class Sink(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
