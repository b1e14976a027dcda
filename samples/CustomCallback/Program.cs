// A training run composed in code with a user-written callback that stops once validation perplexity is low enough.
//   dotnet run --project samples/CustomCallback -- ../shared/hh-rlhf-mini 150
// Arguments: a local HH-RLHF folder laid out like the Hub repository, the target perplexity (default 150).
using System.Globalization;
using CustomCallback;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

string dataDirectory = args.Length > 0 ? args[0] : "../shared/hh-rlhf-mini";
double targetPerplexity = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 150;
var train = await HhRlhfDataset.LoadFromDirectoryAsync(dataDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
var test = await HhRlhfDataset.LoadFromDirectoryAsync(dataDirectory, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
var tokenizer = WordLevelTokenizer.Build(train.GetNormalizedChosenTexts(), vocabularySize: 1000);
var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = 64 };
var trainCorpus = TokenizedCorpus.Build(train.GetNormalizedChosenTexts(), tokenizer, corpusOptions);
var testCorpus = TokenizedCorpus.Build(test.GetNormalizedChosenTexts(), tokenizer, corpusOptions);

// Both seeds make the run reproducible: the model's for its initial weights, the trainer's for batch order and dropout.
var model = new NewLlmModel(new NewLlmOptions { VocabSize = tokenizer.VocabSize, EmbedDim = 64, HiddenDim = 128, ContextDim = 64, Seed = 1 });
// This demo replaces its own earlier run in custom-run/ (without OverwriteOutput the trainer refuses to).
var options = new TrainerOptions { ModelName = "custom", Epochs = 3, BatchSize = 64, OutputDirectory = "custom-run", Seed = 1, OverwriteOutput = true };
var callbacks = new ITrainerCallback[] { new ConsoleReporter(), new StopAtPerplexity(targetPerplexity) };

// Ctrl-C stops after the current step and writes custom-run/custom_interrupted.pt (trainer.LoadCheckpoint resumes it).
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !stop.IsCancellationRequested; // a second Ctrl-C ends the program at once
    stop.Cancel();
};

using var trainer = new Trainer(model, trainCorpus, testCorpus, options, tokenizer, callbacks: callbacks);
TrainingResult result = await trainer.TrainAsync(stop.Token);
Console.WriteLine($"{result.Outcome} after {result.EpochsCompleted} epochs: {result.Message}");
