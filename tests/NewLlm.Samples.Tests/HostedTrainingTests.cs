using NewLlm.Tests;

namespace NewLlm.Samples.Tests;

/// <summary><c>samples/HostedTraining</c>: a Generic Host that trains from appsettings.json, stops on SIGINT with the interrupt checkpoint, and refuses a bad setting at start.</summary>
[Trait("Category", "Slow")]
public sealed class HostedTrainingTests
{
    // Small enough for a test: the tiny folder, a narrow model, one batch per epoch.
    private static readonly string[] Small = ["--NewLlm:Model:EmbedDim=32", "--NewLlm:Model:HiddenDim=64", "--NewLlm:Model:ContextDim=32", "--NewLlm:Corpus:MaxSequenceLength=64"];

    [Fact]
    public async Task TheHostTrainsOneEpochFromItsSettingsLogsItAndExits()
    {
        using var temp = new TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 64, testRows: 16);

        (int code, string text) = await SampleProcess.RunAsync("HostedTraining", temp.Path, [$"--TrainingData={data}", .. Small]);

        Assert.True(code == 0, text);
        Assert.Contains("Application started.", text, StringComparison.Ordinal);
        Assert.Contains("Epoch 1/1: train loss", text, StringComparison.Ordinal);
        Assert.Contains($"Training ended: Completed after 1 epoch(s); last checkpoint {temp.Combine("hosted-run", "hosted_final.pt")}", text, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.Combine("hosted-run", "best_hosted.pt")), text);
    }

    [Fact]
    public async Task SigintStopsTheHostWithTheInterruptCheckpoint()
    {
        using var temp = new TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 64, testRows: 16);
        using var program = ChildProgram.Start(
            SampleProcess.ProgramPath("HostedTraining"), temp.Path, [$"--TrainingData={data}", "--NewLlm:Trainer:Epochs=1000", .. Small]);

        await program.WaitForOutputAsync("Epoch 1/1000", TimeSpan.FromMinutes(3));
        program.Signal("INT");
        int code = await program.WaitForExitAsync(TimeSpan.FromMinutes(1));

        Assert.True(code == 130, program.Output);
        Assert.Contains("Training ended: Cancelled after", program.Output, StringComparison.Ordinal);
        Assert.Contains("Application is shutting down...", program.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.Combine("hosted-run", "hosted_interrupted.pt")), program.Output);
    }

    [Fact]
    public async Task ABadSettingStopsTheHostAtStartNamingTheOption()
    {
        using var temp = new TempDirectory();

        (int code, string text) = await SampleProcess.RunAsync("HostedTraining", temp.Path, "--NewLlm:Trainer:BatchSize=0", "--NewLlm:Model:Dropout=2");

        Assert.Equal(2, code);
        Assert.Contains("Invalid configuration: ", text, StringComparison.Ordinal);
        Assert.Contains("TrainerOptions.BatchSize must be at least 1, but is 0.", text, StringComparison.Ordinal);
        Assert.Contains("NewLlmOptions.Dropout must be in [0, 1), but is 2.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Training ended", text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("hosted-run")));
    }
}
