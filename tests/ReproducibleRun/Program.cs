// Trains a tiny model for two epochs on a corpus made here and prints every batch loss, every validation loss and a
// checksum of the final weights, in round-trip precision. Usage: ReproducibleRun <model seed | none>
// With a model seed (NewLlmOptions.Seed) two processes print the same; with none, the initial weights come from
// TorchSharp's global generator, which every process seeds differently, so the trainer's seed alone is not enough.
using System.Globalization;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

int? modelSeed = args.Length > 0 && args[0] != "none" ? int.Parse(args[0], CultureInfo.InvariantCulture) : null;
string[] animals = ["cats", "dogs", "owls", "fish", "bees"];
string[] verbs = ["like", "see", "chase", "draw"];
var texts = new List<string>();
for (int i = 0; i < 40; i++)
{
    texts.Add($"Human: do {animals[i % 5]} {verbs[i % 4]} {animals[(i / 5) % 5]} ? Assistant: yes , {animals[i % 5]} {verbs[i % 4]} {animals[(i / 5) % 5]} .");
}

var tokenizer = WordLevelTokenizer.Build(texts, vocabularySize: 30);
var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = 16 };
TokenizedCorpus train = TokenizedCorpus.Build(texts.Take(32).ToList(), tokenizer, corpusOptions);
TokenizedCorpus validation = TokenizedCorpus.Build(texts.Skip(32).ToList(), tokenizer, corpusOptions);

var model = new NewLlmModel(new NewLlmOptions { VocabSize = tokenizer.VocabSize, EmbedDim = 8, HiddenDim = 16, ContextDim = 8, Seed = modelSeed });
var options = new TrainerOptions { ModelName = "reproducible", Epochs = 2, BatchSize = 8, Seed = 7, WriteReports = false };
using var trainer = new Trainer(model, train, validation, options, tokenizer, callbacks: [new Printer()]);
TrainingResult result = trainer.Train();

double checksum = model.parameters().Sum(p => p.abs().sum().item<float>() * 1.0);
Console.WriteLine($"{result.Outcome} after {result.EpochsCompleted} epochs; |weights| {checksum.ToString("R", CultureInfo.InvariantCulture)}");
return 0;

/// <summary>Prints what the run computed, in round-trip precision.</summary>
internal sealed class Printer : ITrainerCallback
{
    public void OnBatchEnd(TrainerContext context, BatchResult batch) =>
        Console.WriteLine($"batch loss {batch.Loss.ToString("R", CultureInfo.InvariantCulture)}");

    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) =>
        Console.WriteLine($"validation loss {metrics.Loss.ToString("R", CultureInfo.InvariantCulture)}");
}
