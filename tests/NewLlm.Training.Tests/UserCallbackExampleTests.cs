
namespace NewLlm.Training.Tests;

/// <summary>The README's example: a user-written callback, unit-tested against a real (tiny) Trainer.</summary>
public sealed class UserCallbackExampleTests
{
    /// <summary>Stops training once validation perplexity is at or below a target.</summary>
    private sealed class StopAtPerplexity(double target) : ITrainerCallback
    {
        public List<double> Seen { get; } = new();

        public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics)
        {
            Seen.Add(metrics.Perplexity);
            if (metrics.Perplexity <= target)
            {
                context.Control.RequestStop($"perplexity {metrics.Perplexity:F1} reached {target}");
            }
        }
    }

    [Fact]
    public async Task StopsTheRunWhenTheTargetIsReached()
    {
        using var setup = new TinySetup();
        var callback = new StopAtPerplexity(target: double.MaxValue); // any perplexity qualifies: stop after epoch 1
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(epochs: 10, output: false), callback);

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(TrainingOutcome.StopRequested, result.Outcome);
        Assert.Equal(1, result.EpochsCompleted);
        Assert.Single(callback.Seen);
        Assert.StartsWith("perplexity", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LetsTheRunFinishWhenTheTargetIsNotReached()
    {
        using var setup = new TinySetup();
        var callback = new StopAtPerplexity(target: 1.0); // perplexity is never below 1
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(epochs: 3, output: false), callback);

        TrainingResult result = await trainer.TrainAsync();

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.Equal(3, callback.Seen.Count);
        Assert.All(callback.Seen, ppl => Assert.True(ppl > 1.0));
    }
}
