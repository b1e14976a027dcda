using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace NewLlm.Training.Tests;

public sealed class ReportTests
{
    [Fact]
    public async Task LiveBatchCounterIsShownThenErasedSoTheLineReadsAsTheOriginal()
    {
        using var setup = new TinySetup();
        var plain = new StringWriter();
        var live = new StringWriter();
        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1, output: false), new ConsoleReporter(plain)))
        {
            await trainer.TrainAsync();
        }

        using (var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1, output: false), new ConsoleReporter(live) { ShowBatchProgress = true }))
        {
            await trainer.TrainAsync();
        }

        string raw = live.ToString();
        Assert.Matches(new Regex(@" \[1/\d+\] loss \d+\.\d{4}"), raw);
        Assert.DoesNotContain("\b", plain.ToString(), StringComparison.Ordinal);

        // What a terminal shows once backspaces have moved the cursor back over the erased counters.
        var screen = new System.Text.StringBuilder();
        int cursor = 0;
        foreach (char ch in raw)
        {
            if (ch == '\b')
            {
                cursor--;
                continue;
            }

            if (cursor < screen.Length)
            {
                screen[cursor] = ch;
            }
            else
            {
                screen.Append(ch);
            }

            cursor++;
        }

        static string TrainingLine(string text) => text.Split('\n').Single(l => l.StartsWith("  Training...", StringComparison.Ordinal)).TrimEnd();
        string shown = Regex.Replace(TrainingLine(screen.ToString()), @"\| \d+\.\dmin \| Loss: .*$", string.Empty).TrimEnd();
        Assert.Equal("  Training... 20% 40% 60% 80% 100%", shown);
        Assert.Equal(Regex.Replace(TrainingLine(plain.ToString()), @"\| \d+\.\dmin \| Loss: .*$", string.Empty).TrimEnd(), shown);
    }

    [Fact]
    public async Task ConsoleReportFollowsTheOriginalLineForLine()
    {
        using var setup = new TinySetup();
        var output = new StringWriter();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(5), new ConsoleReporter(output));
        await trainer.TrainAsync();
        string[] lines = output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Contains(lines, l => l == "New-LLM training: tiny");
        Assert.Contains(lines, l => l.StartsWith("Parameters: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l == "Device: cpu");
        Assert.Contains(lines, l => l.StartsWith("Dataset: 40 train / 12 validation sequences", StringComparison.Ordinal));
        for (int epoch = 1; epoch <= 5; epoch++)
        {
            int at = Array.IndexOf(lines, $"Epoch {epoch}/5");
            Assert.True(at >= 0, $"no 'Epoch {epoch}/5' line");
            Assert.Matches(new Regex(@"^  Training\.\.\. 20% 40% 60% 80% 100% \| \d+\.\dmin \| Loss: \d+\.\d{4}$"), lines[at + 1]);
            Assert.Matches(new Regex(@"^  Val: Loss=\d+\.\d{2} PPL=\d+\.\d Acc=\d+\.\d% \(batch mean: Loss=\d+\.\d{2} PPL=\d+\.\d\)( ✓)?$"), lines[at + 2]);
        }

        Assert.EndsWith("✓", lines[Array.IndexOf(lines, "Epoch 1/5") + 2], StringComparison.Ordinal);
        Assert.Equal("  [Checkpoint saved]", lines[Array.IndexOf(lines, "Epoch 5/5") + 3]);
        Assert.Contains(lines, l => l.StartsWith("Training completed! Best Val Loss: ", StringComparison.Ordinal));
        Assert.Contains($"Last checkpoint: {Path.Combine(setup.Directory, "tiny_final.pt")} (resume from it to train further)", lines);
    }

    [Fact]
    public async Task ThePreferenceAccuracyIsShownOnTheValidationLineWhenMeasured()
    {
        using var setup = new TinySetup();
        var output = new StringWriter();
        var rows = setup.ValidationTexts.Select(t => new NewLlm.Data.HhRlhfRow(t, t + " no")).ToList();
        var pairs = NewLlm.Data.TokenizedPreferencePairs.Build(NewLlm.Data.HhRlhfDataset.FromRows(rows), setup.Tokenizer, new NewLlm.Data.TokenizedCorpusOptions { MaxSequenceLength = 16 });
        using var trainer = new Trainer(setup.CreateModel(), setup.Train, setup.Validation, setup.Options(1, output: false), setup.Tokenizer, pairs, [new ConsoleReporter(output)]);
        await trainer.TrainAsync();
        Assert.Matches(new Regex(@"\n  Val: Loss=\d+\.\d{2} PPL=\d+\.\d Acc=\d+\.\d% \(batch mean: Loss=\d+\.\d{2} PPL=\d+\.\d\) Pref=\d+\.\d% \(per token: \d+\.\d%\)( ✓)?\r?\n"), output.ToString());
    }

    [Fact]
    public void TheValidationLineShowsTheTokenWeightedFiguresThenTheOriginalsBatchMeanAndBothPreferenceAccuracies()
    {
        using var setup = new TinySetup();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1, output: false));
        TrainerContext context = trainer.Context;
        var output = new StringWriter();
        var reporter = new ConsoleReporter(output);
        var metrics = new EvaluationMetrics(Loss: 4.7556, Accuracy: 0.2183, BitsPerByte: 1.24, TokenCount: 100, ByteCount: 400,
            PreferenceAccuracy: 0.385, BatchMeanLoss: 4.7470, PerTokenPreferenceAccuracy: 0.613);
        reporter.OnEpochEnd(context, new EpochRecord(1, 10, 0.01, 5.2, metrics, IsBest: true, 1, 1));
        reporter.OnEpochEnd(context, new EpochRecord(2, 20, 0.01, 5.2, metrics with { PreferenceAccuracy = null, PerTokenPreferenceAccuracy = null }, IsBest: false, 1, 1));
        reporter.OnEpochEnd(context, new EpochRecord(3, 30, 0.01, 5.2, metrics with { BatchMeanLoss = double.NaN, PreferenceAccuracy = null, PerTokenPreferenceAccuracy = null }, IsBest: false, 1, 1));
        string[] lines = output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
        Assert.Equal(
            [
                "  Val: Loss=4.76 PPL=116.2 Acc=21.8% (batch mean: Loss=4.75 PPL=115.2) Pref=38.5% (per token: 61.3%) ✓",
                "  Val: Loss=4.76 PPL=116.2 Acc=21.8% (batch mean: Loss=4.75 PPL=115.2)",
                "  Val: Loss=4.76 PPL=116.2 Acc=21.8%", // no batch mean known (a record resumed from the original's checkpoint): the original's line
            ],
            lines);
    }

    [Fact]
    public async Task OtherCallbacksOutputDoesNotSplitTheTrainingLine()
    {
        using var setup = new TinySetup();
        var output = new StringWriter();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(1, output: false), new ConsoleReporter(output), new NoteOnEvaluation(output));
        await trainer.TrainAsync();
        string[] lines = output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        int at = Array.IndexOf(lines, "Epoch 1/1");
        Assert.Matches(new Regex(@"^  Training\.\.\. 20% 40% 60% 80% 100% \| \d+\.\dmin \| Loss: \d+\.\d{4}$"), lines[at + 1]);
        Assert.Equal("note", lines[at + 2]);
        Assert.StartsWith("  Val: Loss=", lines[at + 3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProgressJsonAndCsvAreWrittenAfterEveryEpochAndNoCurvesWithoutThePlotsPackage()
    {
        using var setup = new TinySetup();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(3));
        await trainer.TrainAsync();

        JsonNode progress = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(setup.Directory, "tiny_progress.json")))!;
        foreach (string field in new[] { "model_name", "current_epoch", "total_epochs", "train_losses", "val_losses", "train_ppls", "val_ppls", "best_val_loss", "best_val_ppl", "stopped_early", "config", "val_accuracies", "val_bits_per_byte" })
        {
            Assert.NotNull(progress[field]);
        }

        Assert.Equal("tiny", progress["model_name"]!.GetValue<string>());
        Assert.Equal(3, progress["current_epoch"]!.GetValue<int>());
        Assert.Equal(3, progress["total_epochs"]!.GetValue<int>());
        Assert.Equal(3, progress["val_ppls"]!.AsArray().Count);
        Assert.False(progress["stopped_early"]!.GetValue<bool>());
        Assert.Equal(Math.Exp(progress["best_val_loss"]!.GetValue<double>()), progress["best_val_ppl"]!.GetValue<double>(), 9);
        Assert.Equal(8, progress["config"]!["batch_size"]!.GetValue<int>());
        Assert.Equal(1, progress["config"]!["num_layers"]!.GetValue<int>());

        string[] csv = (await File.ReadAllTextAsync(Path.Combine(setup.Directory, "tiny_metrics.csv"))).TrimEnd('\n').Split('\n');
        Assert.Equal(MetricsCsvWriter.Header, csv[0]);
        Assert.Equal(4, csv.Length);
        Assert.StartsWith("3,15,", csv[3], StringComparison.Ordinal);
        Assert.Equal(MetricsCsvWriter.Header.Split(',').Length, csv[3].Split(',').Length);
        string[] header = MetricsCsvWriter.Header.Split(',');
        string[] last = csv[3].Split(',');
        EvaluationMetrics validation = trainer.State.History[2].Validation!;
        double Column(string name) => double.Parse(last[Array.IndexOf(header, name)], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(validation.Loss, Column("val_loss"));
        Assert.Equal(validation.BatchMeanLoss, Column("val_batch_mean_loss"));
        Assert.Equal(validation.BatchMeanPerplexity, Column("val_batch_mean_ppl"));
        Assert.NotEqual(Column("val_loss"), Column("val_batch_mean_loss"));
        Assert.Equal(string.Empty, last[Array.IndexOf(header, "val_per_token_preference_accuracy")]); // not measured in this run
        Assert.Equal(
            "epoch,global_step,learning_rate,train_loss,train_ppl,val_loss,val_ppl,val_accuracy,val_bits_per_byte,val_preference_accuracy,val_tokens,train_seconds,epoch_seconds,is_best",
            string.Join(',', header[..14])); // the earlier columns keep their places
        Assert.Equal(
            trainer.State.History.Select(r => r.Validation!.BatchMeanLoss),
            progress["val_batch_mean_losses"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Equal(
            trainer.State.History.Select(r => r.Validation!.BatchMeanPerplexity),
            progress["val_batch_mean_ppls"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.All(progress["val_per_token_preference_accuracies"]!.AsArray(), Assert.Null);

        Assert.False(File.Exists(Path.Combine(setup.Directory, "tiny_curves.png"))); // drawn by NewLlm.Training.Plots' TrainingCurvesPlotter
        Assert.Empty(Directory.GetFiles(setup.Directory, "*.tmp"));
    }

    [Fact]
    public async Task LoggerReporterLogsEveryEpoch()
    {
        using var setup = new TinySetup();
        var logger = new ListLogger();
        using var trainer = setup.CreateTrainer(setup.CreateModel(), setup.Options(2, output: false), new LoggerReporter(logger));
        await trainer.TrainAsync();
        Assert.Equal(2, logger.Messages.Count(m => m.StartsWith("Epoch ", StringComparison.Ordinal)));
        Assert.All(logger.Messages.Where(m => m.StartsWith("Epoch ", StringComparison.Ordinal)), m => Assert.Matches(@"token-weighted; the original's batch mean: loss \d+\.\d{4}, PPL \d+\.\d{2}\)", m));
        Assert.Contains(logger.Messages, m => m.StartsWith("Training ended (Completed)", StringComparison.Ordinal));
    }

    private sealed class NoteOnEvaluation(TextWriter writer) : ITrainerCallback
    {
        public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) => writer.WriteLine("note");
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Add(formatter(state, exception));
    }
}
