using System.Globalization;
using System.Text.RegularExpressions;
using NewLlm.Training;

namespace NewLlm.Samples.Tests;

/// <summary>
/// <c>samples/TrainHhRlhf</c> (the README's minimal program) trains and writes checkpoints; <c>samples/Evaluate</c> and
/// <c>samples/Chat</c> read the final one.
/// </summary>
[Trait("Category", "Slow")]
public sealed partial class CheckpointSampleTests(TrainedCheckpoint run) : IClassFixture<TrainedCheckpoint>
{
    [Fact]
    public void TheMinimalProgramTrainsEveryEpochAndWritesItsCheckpointsWithTheSequenceLength()
    {
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(TrainedCheckpoint.Epochs, ValidationLine().Matches(run.Output).Count);
        Assert.Contains($"Completed: best checkpoint {Path.Combine(run.OutputDirectory, "best_my_run.pt")}, last {run.FinalCheckpoint}", run.Output, StringComparison.Ordinal);
        CheckpointManifest manifest = CheckpointFile.ReadManifest(run.FinalCheckpoint);
        Assert.Equal(128, manifest.TrainerOptions["max_seq_length"]!.GetValue<int>());
        Assert.Equal(TrainedCheckpoint.Epochs, manifest.State.CompletedEpochs);
    }

    [Fact]
    public async Task EvaluatePrintsTheLossAndPerplexityTheTrainingPrintedForTheCheckpoint()
    {
        Assert.True(run.ExitCode == 0, run.Output);
        Match trained = ValidationLine().Matches(run.Output)[^1]; // the last epoch's, the final checkpoint's model

        (int code, string text) = await SampleProcess.RunAsync("Evaluate", run.WorkingDirectory, run.FinalCheckpoint, run.DataDirectory, "harmless");

        Assert.True(code == 0, text);
        Match measured = Regex.Match(text, @"Loss=(\d+\.\d{4}) PPL=(\d+\.\d{2}) Acc=");
        Assert.True(measured.Success, text);
        Assert.Contains("max_seq_length 128", text, StringComparison.Ordinal);
        Assert.Contains("Preference accuracy: ", text, StringComparison.Ordinal);

        // The training printed 2 decimals of the loss and 1 of the perplexity; Evaluate prints more of the same value.
        Assert.Equal(Number(trained.Groups[1].Value), Math.Round(Number(measured.Groups[1].Value), 2), 2);
        Assert.InRange(Number(measured.Groups[2].Value) - Number(trained.Groups[2].Value), -0.055, 0.055);
    }

    [Fact]
    public async Task ChatRepliesToEachTurnAndEachReplyStops()
    {
        Assert.True(run.ExitCode == 0, run.Output);

        (int code, string text) = await SampleProcess.RunAsync("Chat", run.WorkingDirectory, run.FinalCheckpoint, "how do I bake bread", "tell me a story");

        Assert.True(code == 0, text);
        string[] lines = text.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal(["Human: how do I bake bread", "Human: tell me a story"], lines.Where(l => l.StartsWith("Human:", StringComparison.Ordinal)));
        string[] replies = [.. lines.Where(l => l.StartsWith("Assistant:", StringComparison.Ordinal))];
        Assert.Equal(2, replies.Length);
        Assert.Contains(replies, r => r.Length > "Assistant:".Length + 1); // the model says something
        Assert.All(replies, r => Assert.DoesNotContain("Human:", r, StringComparison.Ordinal)); // a reply stops before your turn
        Assert.Equal(2, Regex.Matches(text, @"\[stopped: (EndOfSequence|StopString|MaxNewTokens); \d+ tokens read").Count);
    }

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    // The reporter's validation line: "  Val: Loss=3.67 PPL=39.2 Acc=29.2% ...".
    [GeneratedRegex(@"Val: Loss=(\d+\.\d{2}) PPL=(\d+\.\d) Acc=")]
    private static partial Regex ValidationLine();
}
