using System.Diagnostics;

namespace NewLlm.Examples.Tests;

/// <summary>
/// A run composed as the README composes one (<c>tests/ReproducibleRun</c>, two epochs of a tiny model on a corpus
/// it makes) run twice, each in a process of its own.
/// </summary>
[Trait("Category", "Slow")]
public class TwoProcessReproducibilityTests
{
    [Fact]
    public void TwoProcessesWithTheModelSeedAndTheTrainerSeedPrintTheSameRun()
    {
        string first = Run("1");
        string second = Run("1");
        Assert.Contains("validation loss", first);
        Assert.Equal(first, second);
    }

    [Fact]
    public void WithoutTheModelSeedTheTrainerSeedAloneDoesNotMakeTwoProcessesAgree()
    {
        // The reason NewLlmOptions.Seed exists: the initial weights are drawn before the trainer seeds anything, from
        // TorchSharp's global generator, which each process seeds differently.
        Assert.NotEqual(Run("none"), Run("none"));
    }

    private static string Run(string modelSeed)
    {
        string program = Path.Combine(AppContext.BaseDirectory, "ReproducibleRun.dll");
        Assert.True(File.Exists(program), $"{program} is missing: the test project builds it and copies it beside itself.");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(program);
        start.ArgumentList.Add(modelSeed);
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"ReproducibleRun {modelSeed} did not finish within 120 s.");
        }

        Assert.True(process.ExitCode == 0, $"ReproducibleRun {modelSeed} exited with {process.ExitCode}: {error.Result}{output.Result}");
        return output.Result;
    }
}
