using CustomCallback;
using NewLlm.Training;
using Xunit;

namespace CustomCallback.Tests;

public class StopAtPerplexityTests
{
    [Fact]
    public void StopsAtTheFirstValidationAtOrBelowTheTarget()
    {
        var run = new CallbackHarness([new StopAtPerplexity(target: 20)]);

        TrainingResult result = run.Run(3.5, 3.2, 2.9, 2.5); // validation PPL 33.1, 24.5, 18.2: stops after the third epoch

        Assert.Equal(TrainingOutcome.StopRequested, result.Outcome);
        Assert.Equal(3, result.EpochsCompleted);
        Assert.StartsWith("validation perplexity 18.2 reached the target 20", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LetsTheRunFinishWhileThePerplexityIsAboveTheTarget()
    {
        TrainingResult result = new CallbackHarness([new StopAtPerplexity(target: 10)]).Run(3.5, 3.2, 2.9);

        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        Assert.DoesNotContain(result.History, r => r.Validation is null);
    }
}
