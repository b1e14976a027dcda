// The original's curriculum in code: train on Dolly-15k, then go on to HH-RLHF from the Dolly model's final checkpoint,
// keeping its weights and its vocabulary, with a fresh optimizer (what the newllm tool's `train --from` does).
//   dotnet run -c Release --project samples/Curriculum -- data/dolly ../shared/hh-rlhf-mini curriculum 3 [512]
// Arguments: a Dolly folder laid out like its Hub repository (databricks-dolly-15k.jsonl), an HH-RLHF folder laid out
// like its own (<dir>/harmless-base/{train,test}.jsonl.gz), the output folder, the epochs of each stage and, if given,
// a wider context for stage 2 (the Dolly model's context vector widened by copying, which keeps what it computes).
using System.Globalization;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

string dollyDirectory = args.Length > 0 ? args[0] : "data/dolly";
string hhDirectory = args.Length > 1 ? args[1] : "../shared/hh-rlhf-mini";
string output = args.Length > 2 ? args[2] : "curriculum";
int epochs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
int? widerContext = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : null;
var corpusOptions = new DialogueCorpusOptions { MaxSequenceLength = 128 };
string cache = Path.Combine(output, "cache");

// Stage 1: Dolly, split 90/10 and with the vocabulary built from its training rows, as the original does.
DialogueSource dolly = await DialogueSource.FromDirectoryAsync(DialogueDataset.Dolly, dollyDirectory);
string from;
using (DialogueCorpus dollyCorpus = await DialogueCorpus.LoadAsync(dolly, cache, corpusOptions))
{
    using var dollyModel = new NewLlmModel(new NewLlmOptions { VocabSize = dollyCorpus.Tokenizer.VocabSize, Seed = 1 });
    from = (await TrainAsync(dollyModel, dollyCorpus, "dolly", startedFrom: null)).LastCheckpointPath!;
}

// Stage 2: HH-RLHF, starting from the Dolly checkpoint's model and vocabulary. Passing no tokenizer to LoadAsync would
// build HH-RLHF's own vocabulary (the original's rule at each level): then the ids mean other words, and the embedding
// and output layer must start anew.
DialogueTokenizer vocabulary = CheckpointFile.LoadTokenizer(from)!;
DialogueSource hh = await DialogueSource.FromDirectoryAsync(DialogueDataset.HhRlhf(HhRlhfSubset.Harmless), hhDirectory);
NewLlmModel model = CheckpointFile.LoadModel(from);
if (widerContext is int size) // each context dimension copied: the wider model computes what the narrow one did
{
    using NewLlmModel narrow = model;
    model = narrow.ExpandContext(size, ContextExpansion.Replicate);
}

using (model)
using (DialogueCorpus hhCorpus = await DialogueCorpus.LoadAsync(hh, cache, corpusOptions, vocabulary))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Starting from {from} (context {model.Options.ContextDim}): the Dolly vocabulary leaves {hhCorpus.Coverage?.UnknownRate * 100:F1}% of HH-RLHF's words unknown."));
    double before = Evaluator.Evaluate(model, hhCorpus.Test, batchSize: 64).Perplexity;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"HH-RLHF validation PPL before stage 2: {before:F2}"));
    await TrainAsync(model, hhCorpus, "hh_rlhf", startedFrom: from);
}

async Task<TrainingResult> TrainAsync(NewLlmModel model, DialogueCorpus corpus, string stage, string? startedFrom)
{
    var options = new TrainerOptions { ModelName = $"curriculum_{stage}", Epochs = epochs, BatchSize = 64, OutputDirectory = Path.Combine(output, stage), Seed = 1 };
    options.RunConfiguration["data"] = corpus.Description;
    options.RunConfiguration["max_seq_length"] = corpusOptions.MaxSequenceLength;
    if (startedFrom is not null)
    {
        options.RunConfiguration["from_checkpoint"] = Path.GetFullPath(startedFrom); // where the weights came from, kept in every checkpoint
    }

    Console.WriteLine($"Stage {stage}: {corpus.Train.Count} training and {corpus.Test.Count} test dialogues of {corpus.Description}");
    using var trainer = new Trainer(model, corpus.Train, corpus.Test, options, corpus.Tokenizer, callbacks: [new ConsoleReporter()]);
    TrainingResult result = await trainer.TrainAsync();
    Console.WriteLine($"Stage {stage}: {result.Outcome}, last checkpoint {result.LastCheckpointPath}");
    return result;
}
