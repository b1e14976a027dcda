using System.Security.Cryptography;

namespace NewLlm.Training.Tests;

/// <summary>A resume with no epoch left says so, and neither claims a completed training nor rewrites any file.</summary>
public sealed class NothingToTrainTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public async Task AResumeWithNoEpochLeftSaysSoAndRewritesNoFile(int epochs)
    {
        using var setup = new TinySetup();
        using (var first = setup.CreateTrainer(setup.CreateModel(), setup.Options(2)))
        {
            await first.TrainAsync();
        }

        string[] files = Directory.GetFiles(setup.Directory);
        Dictionary<string, (byte[] Hash, DateTime Written)> before = files.ToDictionary(f => f, f => (SHA256.HashData(File.ReadAllBytes(f)), File.GetLastWriteTimeUtc(f)));

        var output = new StringWriter();
        var recorder = new RecordingCallback();
        using var resumed = setup.CreateTrainer(setup.CreateModel(), setup.Options(epochs), new ConsoleReporter(output), recorder);
        resumed.LoadCheckpoint(Path.Combine(setup.Directory, "tiny_final.pt"));
        TrainingResult result = await resumed.TrainAsync();

        Assert.Equal(TrainingOutcome.NothingToTrain, result.Outcome);
        Assert.Equal(2, result.EpochsCompleted);
        Assert.Equal(2, result.History.Count);
        Assert.Contains($"already has 2 of {epochs} epochs", result.Message, StringComparison.Ordinal);
        Assert.Contains("raise TrainerOptions.Epochs to train more", result.Message, StringComparison.Ordinal);
        string console = output.ToString();
        Assert.DoesNotContain("Training completed", console, StringComparison.Ordinal);
        Assert.DoesNotContain("Resuming at epoch 3", console, StringComparison.Ordinal);
        Assert.Contains("Nothing to train", console, StringComparison.Ordinal);
        Assert.DoesNotContain(recorder.Events, e => e.StartsWith("checkpoint", StringComparison.Ordinal) || e.StartsWith("epoch", StringComparison.Ordinal));
        Assert.Equal("train-end NothingToTrain", recorder.Events[^1]);

        Assert.Equal(files.Order(StringComparer.Ordinal), Directory.GetFiles(setup.Directory).Order(StringComparer.Ordinal));
        foreach ((string file, (byte[] hash, DateTime written)) in before)
        {
            Assert.Equal(hash, SHA256.HashData(File.ReadAllBytes(file)));
            Assert.Equal(written, File.GetLastWriteTimeUtc(file));
        }
    }
}
