namespace NewLlm.Samples.Tests;

/// <summary><c>samples/CustomCallback</c>: a user-written callback sees each validation and stops the run at its target.</summary>
[Trait("Category", "Slow")]
public sealed class CustomCallbackTests
{
    [Fact]
    public async Task TheCallbackReportsEachValidationAndStopsTheRunOnceTheTargetIsReached()
    {
        using var temp = new NewLlm.Tests.TempDirectory();
        string data = TinyHhRlhfFolder.Create(temp.Path, trainRows: 64, testRows: 16); // one batch per epoch

        // A target too low to reach: the callback reports each of the three epochs and the run completes.
        (int code, string text) = await SampleProcess.RunAsync("CustomCallback", temp.Path, data, "1");
        Assert.True(code == 0, text);
        Assert.Equal(3, CountOf(text, "[StopAtPerplexity] PPL"));
        Assert.Contains("Completed after 3 epochs", text, StringComparison.Ordinal);

        // A target the first validation reaches: the callback stops the run there (and the sample replaces its earlier run).
        (code, text) = await SampleProcess.RunAsync("CustomCallback", temp.Path, data, "1000000");
        Assert.True(code == 0, text);
        Assert.Equal(1, CountOf(text, "[StopAtPerplexity] PPL"));
        Assert.Contains("StopRequested after 1 epochs", text, StringComparison.Ordinal);
        Assert.Contains("reached the target 1000000", text, StringComparison.Ordinal);
        Assert.True(File.Exists(temp.Combine("custom-run", "custom_final.pt")), text);
    }

    private static int CountOf(string text, string part) => text.Split(part).Length - 1;
}
