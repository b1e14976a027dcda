
namespace NewLlm.Training.Tests;

public sealed class ScheduleTests
{
    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(10, 0.5)]
    [InlineData(11, 1.0)]
    [InlineData(30, 1.0)]
    [InlineData(31, 2.0)]
    [InlineData(100, 2.0)]
    public void OriginalClipScheduleIsHalfThenOneThenTwo(int epoch, double expected) =>
        Assert.Equal(expected, GradientClipSchedule.Original.GetMaxNorm(epoch));

    [Fact]
    public async Task TrainerAsksTheClipScheduleForEveryEpochAndCanBeReplacedByAFunction()
    {
        using var setup = new TinySetup();
        var asked = new List<int>();
        TrainerOptions options = setup.Options(3, output: false);
        options.GradientClipSchedule = GradientClipSchedule.FromFunction(epoch => { asked.Add(epoch); return 0.25 * epoch; }, "test");
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options);
        await trainer.TrainAsync();
        Assert.Equal(new[] { 1, 2, 3 }, asked);
    }

    [Fact]
    public async Task GradientNormIsReportedWhenClippingAndNotWhenOff()
    {
        using var setup = new TinySetup();
        var recorder = new RecordingCallback();
        TrainerOptions options = setup.Options(1, output: false);
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, recorder);
        await trainer.TrainAsync();
        Assert.All(recorder.Batches, b => Assert.True(b.GradientNorm is > 0));

        var none = new RecordingCallback();
        TrainerOptions off = setup.Options(1, output: false);
        off.GradientClipSchedule = GradientClipSchedule.None;
        using var unclipped = setup.CreateTrainer(setup.CreateModel(), off, none);
        await unclipped.TrainAsync();
        Assert.All(none.Batches, b => Assert.Null(b.GradientNorm));
    }

    [Fact]
    public void WarmupCosineRisesLinearlyThenDecaysToTheMinimum()
    {
        var schedule = new WarmupCosineLearningRateSchedule(warmupSteps: 4, minimumRatio: 0.1);
        Assert.Equal(0.25, schedule.GetLearningRate(1.0, 0, 20), 12);
        Assert.Equal(1.0, schedule.GetLearningRate(1.0, 3, 20), 12);
        Assert.Equal(1.0, schedule.GetLearningRate(1.0, 4, 20), 12);
        Assert.Equal(0.1, schedule.GetLearningRate(1.0, 19, 20), 12);
        for (long step = 5; step < 20; step++)
        {
            Assert.True(schedule.GetLearningRate(1.0, step, 20) <= schedule.GetLearningRate(1.0, step - 1, 20));
        }
    }

    [Fact]
    public async Task TrainerAppliesTheLearningRateSchedulePerStep()
    {
        using var setup = new TinySetup();
        var recorder = new RecordingCallback();
        TrainerOptions options = setup.Options(2, output: false);
        var schedule = new WarmupCosineLearningRateSchedule(3, 0.0);
        options.LearningRateSchedule = schedule;
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options, recorder);
        TrainingResult result = await trainer.TrainAsync();
        long total = result.GlobalStep;
        Assert.Equal(10, total); // 40 rows / 8 per batch * 2 epochs
        for (int i = 0; i < recorder.Batches.Count; i++)
        {
            Assert.Equal(schedule.GetLearningRate(options.LearningRate, i, total), recorder.Batches[i].LearningRate, 12);
        }
    }

    [Fact]
    public async Task GradientAccumulationTakesOneStepPerGroup()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(1, output: false);
        options.GradientAccumulationSteps = 2;
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options);
        TrainingResult result = await trainer.TrainAsync();
        Assert.Equal(3, result.GlobalStep); // 5 batches -> groups of 2, 2, 1
    }

    [Fact]
    public async Task StepLimitStopsTraining()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(10, output: false);
        options.MaxSteps = 7;
        using var trainer = setup.CreateTrainer(setup.CreateModel(), options);
        TrainingResult result = await trainer.TrainAsync();
        Assert.Equal(TrainingOutcome.StepLimitReached, result.Outcome);
        Assert.Equal(7, result.GlobalStep);
        Assert.Equal(2, result.History.Count);
    }
}
