// Trains New-LLM on Anthropic HH-RLHF (the harmless subset) in code: the README's minimal program.
//   dotnet run -c Release --project samples/TrainHhRlhf -- ../shared/hh-rlhf-mini out 10
// Arguments: a local copy laid out like the Hub repository (<dir>/harmless-base/{train,test}.jsonl.gz), or "hub" to
// download it; the output folder (default out); the epochs (default 10). The newllm tool trains with every option.
using System.Globalization;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

string source = args.Length > 0 ? args[0] : "hub";
string output = args.Length > 1 ? args[1] : "out";
int epochs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;

var train = source == "hub"
    ? await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Train)
    : await HhRlhfDataset.LoadFromDirectoryAsync(source, HhRlhfSubset.Harmless, HhRlhfSplit.Train);
var test = source == "hub"
    ? await HhRlhfDataset.LoadFromHubAsync(HhRlhfSubset.Harmless, HhRlhfSplit.Test)
    : await HhRlhfDataset.LoadFromDirectoryAsync(source, HhRlhfSubset.Harmless, HhRlhfSplit.Test);
var tokenizer = WordLevelTokenizer.Build(train.GetNormalizedChosenTexts(), vocabularySize: 1000);
var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = 128 };
var trainCorpus = TokenizedCorpus.Build(train.GetNormalizedChosenTexts(), tokenizer, corpusOptions);
var testCorpus = TokenizedCorpus.Build(test.GetNormalizedChosenTexts(), tokenizer, corpusOptions);

// Two seeds make the run reproducible: the model's for its initial weights, the trainer's for batch order and dropout.
var model = new NewLlmModel(new NewLlmOptions { VocabSize = tokenizer.VocabSize, NumLayers = 1, Seed = 1 });
var options = new TrainerOptions { ModelName = "my_run", Epochs = epochs, BatchSize = 64, OutputDirectory = output, Seed = 1 };
options.RunConfiguration["max_seq_length"] = corpusOptions.MaxSequenceLength; // kept in the checkpoints (samples/Evaluate reads it)
using var trainer = new Trainer(model, trainCorpus, testCorpus, options, tokenizer, callbacks: [new ConsoleReporter()]);
TrainingResult result = await trainer.TrainAsync();
Console.WriteLine($"{result.Outcome}: best checkpoint {result.BestCheckpointPath}, last {result.LastCheckpointPath}");
