// Measures a checkpoint written by a Trainer on the test split of HH-RLHF: token-weighted loss, perplexity, next-token
// accuracy and bits per byte, the original trainer's batch-mean loss, and preference accuracy (chosen beats rejected).
//   dotnet run -c Release --project samples/Evaluate -- out/best_my_run.pt ../shared/hh-rlhf-mini harmless
// Arguments: the checkpoint, a local HH-RLHF folder laid out like the Hub repository, the subset (default harmless).
// The newllm tool's evaluate also measures the original Python trainer's checkpoints, rebuilding their vocabulary.
using System.Globalization;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

string path = args.Length > 0 ? args[0] : "out/best_my_run.pt";
string dataDirectory = args.Length > 1 ? args[1] : "../shared/hh-rlhf-mini";
HhRlhfSubset subset = HhRlhfLayout.ParseSubset(args.Length > 2 ? args[2] : "harmless");

// The model and the vocabulary it was trained with; the sequence length its run recorded (else the original's 128).
NewLlmModel model = (NewLlmModel)CheckpointFile.LoadModel(path);
DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path)
    ?? throw new InvalidDataException($"{path} holds no vocabulary: it was not written by a Trainer.");
int length = CheckpointFile.ReadManifest(path).TrainerOptions["max_seq_length"]?.GetValue<int>() ?? 128;

HhRlhfDataset test = await HhRlhfDataset.LoadFromDirectoryAsync(dataDirectory, subset, HhRlhfSplit.Test);
var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = length };
TokenizedCorpus corpus = TokenizedCorpus.Build(test.GetNormalizedChosenTexts(), tokenizer, corpusOptions);
TokenizedPreferencePairs pairs = TokenizedPreferencePairs.Build(test, tokenizer, corpusOptions);
EvaluationMetrics metrics = Evaluator.Evaluate(model, corpus, batchSize: 64, pairs);

Console.WriteLine($"{path} ({model.Options.NumLayers} layer(s), vocab {model.Options.VocabSize}) on {test.SourceDescription}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {corpus.Count} dialogues, {metrics.TokenCount} predicted tokens, max_seq_length {length}"));
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"  Loss={metrics.Loss:F4} PPL={metrics.Perplexity:F2} Acc={metrics.Accuracy * 100:F1}% bits/byte={metrics.BitsPerByte:F3} (batch mean: Loss={metrics.BatchMeanLoss:F4} PPL={metrics.BatchMeanPerplexity:F2})"));
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"  Preference accuracy: {metrics.PreferenceAccuracy * 100:F1}% summed, {metrics.PerTokenPreferenceAccuracy * 100:F1}% per token"));
