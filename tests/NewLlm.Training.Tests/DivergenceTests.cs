using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace NewLlm.Training.Tests;

/// <summary>A diverging run is reported as such, and losses beyond exp's range are written readably and as valid JSON.</summary>
public sealed class DivergenceTests
{
    [Fact]
    public async Task ADivergingRunIsWarnedAboutThroughTheLoggerAndTheConsole()
    {
        using var setup = new TinySetup();
        TrainerOptions options = setup.Options(2, output: false);
        options.LearningRate = 10;
        var output = new StringWriter();
        var logger = new ListLogger<Trainer>();
        using var trainer = new Trainer(setup.CreateModel(), setup.Train, setup.Validation, options, setup.Tokenizer, callbacks: [new ConsoleReporter(output)], logger: logger);

        TrainingResult result = await trainer.TrainAsync();

        double threshold = Math.Log(setup.Tokenizer.VocabSize) + 1;
        Assert.True(result.History[^1].TrainLoss > threshold, $"the run did not diverge: {result.History[^1].TrainLoss}");
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("diverging", StringComparison.Ordinal) && e.Message.Contains("Lower the learning rate", StringComparison.Ordinal));
        Assert.Contains("  Warning: the training loss", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("diverging", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANormalRunIsNotWarnedAbout()
    {
        using var setup = new TinySetup();
        var output = new StringWriter();
        var logger = new ListLogger<Trainer>();
        using var trainer = new Trainer(setup.CreateModel(), setup.Train, setup.Validation, setup.Options(4, output: false), setup.Tokenizer, callbacks: [new ConsoleReporter(output)], logger: logger);

        await trainer.TrainAsync();

        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.DoesNotContain("Warning", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 5.2064, 4.7114, 4.3343, 4.0500, 3.8766, 3.7501 }, null)] // the main job's curve (vocabulary 1000)
    [InlineData(new[] { 7.5, 6.0, 5.0 }, null)] // a poor start, below ln(1000) + 1
    [InlineData(new[] { 5.2, 717722.0 }, 2)]
    [InlineData(new[] { 3.0, 4.0, 6.5 }, 3)] // more than twice the first epoch's loss
    [InlineData(new[] { 9.0 }, 1)] // worse than guessing uniformly from the first epoch
    public void TheDivergenceRuleFiresOnlyFarAboveTheStart(double[] trainLosses, int? firstWarnedEpoch)
    {
        var history = new List<EpochRecord>();
        int? warned = null;
        for (int i = 0; i < trainLosses.Length; i++)
        {
            history.Add(new EpochRecord(i + 1, i + 1, 0.001, trainLosses[i], null, false, 1, 1));
            if (warned is null && DivergenceMonitor.Check(history, vocabSize: 1000) is not null)
            {
                warned = i + 1;
            }
        }

        Assert.Equal(firstWarnedEpoch, warned);
    }

    [Fact]
    public void AHugeLossIsPrintedReadablyAndWrittenAsValidJson()
    {
        using var setup = new TinySetup();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1));
        var validation = new EvaluationMetrics(Loss: 800, Accuracy: 0.01, BitsPerByte: 300, TokenCount: 10, ByteCount: 40);
        var record = new EpochRecord(1, 5, 0.001, 717722.125, validation, true, 1, 1);
        trainer.State.AddRecord(record);
        trainer.State.BestValidationLoss = 800;
        trainer.State.BestEpoch = 1;

        var output = new StringWriter();
        var console = new ConsoleReporter(output);
        console.OnEpochBegin(trainer.Context);
        console.OnEpochEnd(trainer.Context, record);
        console.OnTrainEnd(trainer.Context, new TrainingResult(TrainingOutcome.Completed, 1, 5, [record], 800, null, null, "all epochs trained"));
        string text = output.ToString();
        Assert.Contains("Loss: 717722.1250", text, StringComparison.Ordinal);
        Assert.Contains("  Val: Loss=800.00 PPL=2.7e+347 Acc=1.0%", text, StringComparison.Ordinal); // e^800 = 2.7e347 overflows a double
        Assert.Contains("Best Val Loss: 800.0000 (PPL 2.7e+347, epoch 1)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Infinity", text, StringComparison.Ordinal);
        Assert.DoesNotContain("∞", text, StringComparison.Ordinal);

        new ProgressJsonWriter().OnEpochEnd(trainer.Context, record);
        JsonNode progress = JsonNode.Parse(File.ReadAllText(Path.Combine(setup.Directory, "tiny_progress.json")))!;
        Assert.Equal(800, progress["best_val_loss"]!.GetValue<double>());
        Assert.Null(progress["best_val_ppl"]); // JSON has no Infinity: null, as for every other value out of range
        Assert.Null(progress["val_ppls"]![0]);
        Assert.Equal(717722.125, progress["train_losses"]![0]!.GetValue<double>());

        Assert.Equal("2.0e+6", Perplexity.Format(Math.Log(2e6)));
        Assert.Equal("116.6", Perplexity.Format(Math.Log(116.6)));
        Assert.Equal("999999.0", Perplexity.Format(Math.Log(999999)));
        Assert.Equal("9.9e+43", Perplexity.Format(Math.Log(9.9e43)));
        Assert.Equal("1.0e+311703", Perplexity.Format(311703 * Math.Log(10)));
    }

    private sealed class ListLogger<T> : ILogger<T>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }
}
