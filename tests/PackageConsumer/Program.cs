// The package consumer check: a program outside the solution that uses NewLlm only through its NuGet packages.
// It composes a run in code with its own callback, trains one epoch on a tiny corpus it generates, and checks what
// the callback saw. Exit code 0 on success. The check runs it twice and compares the OK lines: seeded, they are equal.
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

string[] subjects = ["cats", "dogs", "birds", "fish", "trees", "rivers"];
string[] verbs = ["like", "see", "follow", "draw", "count"];
var texts = new List<string>();
for (int i = 0; i < 96; i++)
{
    texts.Add($"Human: do {subjects[i % 6]} {verbs[i % 5]} {subjects[(i / 6) % 6]} ? Assistant: yes , {subjects[i % 6]} {verbs[i % 5]} {subjects[(i / 6) % 6]} .");
}

var tokenizer = WordLevelTokenizer.Build(texts, vocabularySize: 40);
var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = 16 };
TokenizedCorpus train = TokenizedCorpus.Build(texts.Take(80).ToList(), tokenizer, corpusOptions);
TokenizedCorpus validation = TokenizedCorpus.Build(texts.Skip(80).ToList(), tokenizer, corpusOptions);

// NewLlmOptions.Seed (initial weights) and TrainerOptions.Seed (batch order, dropout): every run prints the same line.
var model = new NewLlmModel(new NewLlmOptions { VocabSize = tokenizer.VocabSize, EmbedDim = 16, HiddenDim = 32, ContextDim = 16, Seed = 7 });
string output = Path.Combine(Path.GetTempPath(), $"newllm-consumer-{Guid.NewGuid():N}");
var options = new TrainerOptions { ModelName = "consumer", Epochs = 1, BatchSize = 16, Seed = 7, OutputDirectory = output };
var watcher = new EventWatcher();
try
{
    using var trainer = new Trainer(model, train, validation, options, tokenizer, callbacks: [watcher]);
    TrainingResult result = await trainer.TrainAsync();

    var failures = new List<string>();
    if (result.EpochsCompleted != 1) failures.Add($"expected 1 epoch, got {result.EpochsCompleted}");
    if (watcher.Batches != 5) failures.Add($"expected 5 batches of 16 from 80 rows, the callback saw {watcher.Batches}");
    if (!watcher.BatchLosses.All(l => double.IsFinite(l) && l > 0)) failures.Add("a batch loss was not a positive finite number");
    if (watcher.Evaluations.Count != 1) failures.Add($"expected 1 evaluation, the callback saw {watcher.Evaluations.Count}");
    else if (!(watcher.Evaluations[0].Perplexity > 1 && watcher.Evaluations[0].Perplexity < 1000)) failures.Add($"implausible perplexity {watcher.Evaluations[0].Perplexity}");
    if (!watcher.Events.SequenceEqual(["begin", "epoch", "evaluation", "epoch-end", "end"])) failures.Add($"events in order {string.Join(",", watcher.Events)}");
    if (!File.Exists(Path.Combine(output, "consumer_final.pt"))) failures.Add("no final checkpoint written");

    foreach (string failure in failures) Console.Error.WriteLine($"FAIL: {failure}");
    if (failures.Count > 0) return 1;
    string losses = string.Join(" ", watcher.BatchLosses.Select(l => l.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
    Console.WriteLine($"OK: 1 epoch, {watcher.Batches} batches (losses {losses}), validation PPL {watcher.Evaluations[0].Perplexity.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}, {model.ParameterCount} parameters, through the NuGet packages.");
    return 0;
}
finally
{
    if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
}

/// <summary>A user-written callback: records what the trainer reports.</summary>
internal sealed class EventWatcher : ITrainerCallback
{
    public List<string> Events { get; } = [];
    public List<double> BatchLosses { get; } = [];
    public List<EvaluationMetrics> Evaluations { get; } = [];
    public int Batches => BatchLosses.Count;

    public void OnTrainBegin(TrainerContext context) => Events.Add("begin");
    public void OnEpochBegin(TrainerContext context) => Events.Add("epoch");
    public void OnBatchEnd(TrainerContext context, BatchResult batch) => BatchLosses.Add(batch.Loss);
    public void OnEvaluationEnd(TrainerContext context, EvaluationMetrics metrics) { Events.Add("evaluation"); Evaluations.Add(metrics); }
    public void OnEpochEnd(TrainerContext context, EpochRecord record) => Events.Add("epoch-end");
    public void OnTrainEnd(TrainerContext context, TrainingResult result) => Events.Add("end");
}
