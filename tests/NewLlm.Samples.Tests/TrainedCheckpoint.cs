namespace NewLlm.Samples.Tests;

/// <summary>One run of <c>samples/TrainHhRlhf</c> (two epochs on a tiny HH-RLHF folder) whose checkpoints the other samples read.</summary>
public sealed class TrainedCheckpoint : IAsyncLifetime
{
    private readonly NewLlm.Tests.TempDirectory _temp = new();

    public const int Epochs = 2;

    public string DataDirectory { get; private set; } = string.Empty;

    public string OutputDirectory => _temp.Combine("out");

    public string FinalCheckpoint => Path.Combine(OutputDirectory, "my_run_final.pt");

    public string WorkingDirectory => _temp.Path;

    public int ExitCode { get; private set; }

    /// <summary>What the training printed.</summary>
    public string Output { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        DataDirectory = TinyHhRlhfFolder.Create(_temp.Path, trainRows: 128);
        (ExitCode, Output) = await SampleProcess.RunAsync("TrainHhRlhf", _temp.Path, DataDirectory, OutputDirectory, Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public Task DisposeAsync()
    {
        _temp.Dispose();
        return Task.CompletedTask;
    }
}
