// Training as a Generic Host service: every option from appsettings.json (section "NewLlm", checked when the host
// starts), ILogger output, and Ctrl-C through the host's lifetime, which writes the interrupt checkpoint.
//   dotnet run --project samples/HostedTraining
// Any setting can be overridden on the command line or by the environment, for example
//   dotnet run --project samples/HostedTraining -- --NewLlm:Trainer:Epochs=3 --TrainingData=../shared/hh-rlhf-mini
using Microsoft.Extensions.Options;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

// appsettings.json is read beside the program, wherever it is run from; relative paths in it are from the current directory.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddNewLlm(builder.Configuration.GetSection("NewLlm"));
builder.Services.AddHostedService<TrainingService>();
using var host = builder.Build();
try
{
    await host.RunAsync();
}
catch (Exception e) when (e is OptionsValidationException or AggregateException { InnerException: OptionsValidationException })
{
    // Bad settings, found when the host starts (one exception per options type): nothing was trained.
    foreach (var failure in e is AggregateException all ? all.InnerExceptions : [e])
    {
        Console.Error.WriteLine($"Invalid configuration: {failure.Message}");
    }

    return 2;
}

return Environment.ExitCode;

/// <summary>Trains once on the harmless subset of a local HH-RLHF folder (the setting <c>TrainingData</c>), then stops the host.</summary>
internal sealed partial class TrainingService(
    IConfiguration configuration,
    IOptions<NewLlmOptions> modelOptions,
    IOptions<TokenizedCorpusOptions> corpusOptions,
    IOptions<TrainerOptions> trainerOptions,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<TrainingService>();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            string data = configuration["TrainingData"] ?? "../shared/hh-rlhf-mini";
            var train = await HhRlhfDataset.LoadFromDirectoryAsync(data, HhRlhfSubset.Harmless, HhRlhfSplit.Train, stoppingToken);
            var test = await HhRlhfDataset.LoadFromDirectoryAsync(data, HhRlhfSubset.Harmless, HhRlhfSplit.Test, stoppingToken);
            var tokenizer = WordLevelTokenizer.Build(train.GetNormalizedChosenTexts(), vocabularySize: modelOptions.Value.VocabSize);
            var trainCorpus = TokenizedCorpus.Build(train.GetNormalizedChosenTexts(), tokenizer, corpusOptions.Value);
            var testCorpus = TokenizedCorpus.Build(test.GetNormalizedChosenTexts(), tokenizer, corpusOptions.Value);
            LoadedData(_logger, train.Count, data, trainCorpus.Count, tokenizer.VocabSize);

            using var trainer = new Trainer(
                new NewLlmModel(modelOptions.Value), trainCorpus, testCorpus, trainerOptions.Value, tokenizer,
                callbacks: [new LoggerReporter(loggers.CreateLogger<LoggerReporter>())], logger: loggers.CreateLogger<Trainer>());

            // Ctrl-C (or SIGTERM) stops the host, which cancels stoppingToken: the trainer ends after the current step and
            // writes {ModelName}_interrupted.pt, which Trainer.LoadCheckpoint resumes.
            TrainingResult result = await trainer.TrainAsync(stoppingToken);
            Finished(_logger, result.Outcome, result.EpochsCompleted, result.LastCheckpointPath);
            Environment.ExitCode = result.Outcome == TrainingOutcome.Cancelled ? 130 : 0;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed(_logger, e);
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Loaded {Rows} training rows from {Data}: {Sequences} sequences, a vocabulary of {Vocabulary} words")]
    private static partial void LoadedData(ILogger logger, int rows, string data, int sequences, int vocabulary);

    [LoggerMessage(2, LogLevel.Information, "Training ended: {Outcome} after {Epochs} epoch(s); last checkpoint {Checkpoint}")]
    private static partial void Finished(ILogger logger, TrainingOutcome outcome, int epochs, string? checkpoint);

    [LoggerMessage(3, LogLevel.Critical, "Training failed")]
    private static partial void Failed(ILogger logger, Exception exception);
}
