namespace NewLlm.Training.Tests;

public sealed class TrainAsyncTests
{
    [Fact]
    public async Task TrainAsyncRunsTheLoopOnADedicatedThreadNotAThreadPoolThread()
    {
        using var setup = new TinySetup();
        var threads = new ThreadRecorder();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2, output: false), threads);

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(3, threads.IsPoolThread.Count);
        Assert.All(threads.IsPoolThread, isPool => Assert.False(isPool));
        Assert.Single(threads.ThreadIds.Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads.ThreadIds[0]);
    }

    [Fact]
    public async Task TrainAsyncStillReportsCancellationAndFailuresThroughItsTask()
    {
        using var setup = new TinySetup();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2, output: false)))
        {
            TrainingResult result = await trainer.TrainAsync(cancelled.Token);
            Assert.Equal(TrainingOutcome.Cancelled, result.Outcome);
        }

        using var failing = setup.CreateTrainer(setup.CreateModel(), setup.Options(2, output: false), new ThrowAtTrainBegin());
        Task<TrainingResult> run = failing.TrainAsync();
        Assert.Same(ThrowAtTrainBegin.Error, await Assert.ThrowsAsync<InvalidOperationException>(() => run));
        Assert.True(run.IsFaulted);
        Assert.Equal(TrainingOutcome.Completed, (await failing.TrainAsync()).Outcome); // the trainer is free again (no callback throws now)
    }

    private sealed class ThreadRecorder : ITrainerCallback
    {
        public List<bool> IsPoolThread { get; } = new();

        public List<int> ThreadIds { get; } = new();

        public void OnTrainBegin(TrainerContext context) => Record();

        public void OnEpochEnd(TrainerContext context, EpochRecord record) => Record();

        private void Record()
        {
            IsPoolThread.Add(Thread.CurrentThread.IsThreadPoolThread);
            ThreadIds.Add(Environment.CurrentManagedThreadId);
        }
    }

    private sealed class ThrowAtTrainBegin : ITrainerCallback
    {
        public static readonly InvalidOperationException Error = new("not now");

        private bool _thrown;

        public void OnTrainBegin(TrainerContext context)
        {
            if (!_thrown)
            {
                _thrown = true;
                throw Error;
            }
        }
    }
}
