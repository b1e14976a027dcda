using NewLlm.Training;
using Xunit;

namespace PackageConsumer.CallbackTests;

/// <summary>A user's callback: stops when the validation loss has not improved for <paramref name="patience"/> epochs, and saves its counter in checkpoints.</summary>
public sealed class StopWhenStalled(int patience) : ITrainerCallback, ICheckpointStateful
{
    public double Best { get; private set; } = double.PositiveInfinity;

    public int Stalled { get; private set; }

    public string StateKey => "stop-when-stalled";

    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics)
    {
        (Best, Stalled) = metrics.Loss < Best ? (metrics.Loss, 0) : (Best, Stalled + 1);
        if (Stalled >= patience)
        {
            context.Control.RequestStop($"no improvement for {patience} epochs");
        }
    }

    public System.Text.Json.Nodes.JsonNode SaveState() => new System.Text.Json.Nodes.JsonObject { ["best"] = Best, ["stalled"] = Stalled };

    public void LoadState(System.Text.Json.Nodes.JsonNode state) => (Best, Stalled) = ((double)state["best"]!, (int)state["stalled"]!);
}

public sealed class StopWhenStalledTests
{
    [Fact]
    public void StopsAfterThreeEpochsWithoutImprovement()
    {
        var run = new CallbackHarness([new StopWhenStalled(patience: 3)]);

        TrainingResult result = run.Run(3.0, 2.5, 2.6, 2.7, 2.55, 2.0);

        Assert.Equal(TrainingOutcome.StopRequested, result.Outcome);
        Assert.Equal(5, result.EpochsCompleted);
    }

    [Fact]
    public void ItsCounterComesBackFromACheckpoint()
    {
        var run = new CallbackHarness([new StopWhenStalled(patience: 3)]);
        run.Epoch(3.0, 3.0).Epoch(2.9, 3.1);

        var resumed = new StopWhenStalled(patience: 3);
        resumed.LoadState(run.CaptureStates()["stop-when-stalled"]);

        Assert.Equal((3.0, 1), (resumed.Best, resumed.Stalled));
    }
}
