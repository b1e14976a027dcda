// Measures a checkpoint on an HH-RLHF split: loss, perplexity, next-token accuracy, bits per byte and preference
// accuracy, the same metrics for NewLlm's checkpoints and the original Python trainer's, so models from both can be
// compared on the same data.
//   dotnet run -c Release --project samples/Evaluate -- --checkpoint checkpoints/best_new_llm_hh_rlhf_layers1.pt --data-dir ../shared/hh-rlhf-mini --subset harmless
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by NewLlm, or one of the original Python trainer's (its vocabulary is rebuilt from the training split of --data-dir).", Required = true };
var dataDir = new Option<string>("--data-dir", "--data_dir") { Description = "A local HH-RLHF folder laid out like the Hub repository (<dir>/<subset>/<split>.jsonl.gz).", Required = true };
var subset = new Option<string>("--subset") { Description = "HH-RLHF subset (default: the checkpoint's, else helpful)." };
var split = new Option<string>("--split") { Description = "test or train.", DefaultValueFactory = _ => "test" };
split.AcceptOnlyFromAmong("test", "train");
var maxSeqLength = new Option<int?>("--max_seq_length", "--max-seq-length") { Description = "Tokens per dialogue (default: the checkpoint's, else 128). Compare models at the same length." };
var batchSize = new Option<int>("--batch_size", "--batch-size") { Description = "Sequences per batch.", DefaultValueFactory = _ => 64 };

var root = new RootCommand("Measure a New-LLM checkpoint (NewLlm's or the original's) on an HH-RLHF split.") { checkpoint, dataDir, subset, split, maxSeqLength, batchSize };
root.SetAction(async (parse, cancellationToken) =>
{
    try
    {
        return await RunAsync(parse, cancellationToken);
    }
    catch (Exception ex)
    {
        Console.Error.WriteLine($"error: {ex.Message.ReplaceLineEndings(" ")}");
        return 1;
    }
});

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message.ReplaceLineEndings(" ").TrimEnd('.') + "."))} See --help.");
    return 1;
}

return await parsed.InvokeAsync();

async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
{
    TorchBackend.EnsureLoaded();
    bool stateDictOnly = false;
    string path = parse.GetValue(checkpoint)!;
    if (!File.Exists(path))
    {
        throw new FileNotFoundException($"--checkpoint {path}: there is no such file.");
    }

    bool original = CheckpointFile.IsOriginalCheckpoint(path);
    JsonObject? recorded = original ? OriginalSettings(path, out stateDictOnly) : CheckpointFile.ReadManifest(path).TrainerOptions;
    string subsetName = parse.GetValue(subset) ?? (recorded?["subset"] is JsonValue s ? s.ToString() : "helpful");
    HhRlhfSubset selected = HhRlhfLayout.TryParseSubset(subsetName, out HhRlhfSubset parsedSubset)
        ? parsedSubset
        : throw new ArgumentException($"--subset '{subsetName}' is not an HH-RLHF subset: use {string.Join(", ", HhRlhfLayout.SubsetNames)}.");
    int length = parse.GetValue(maxSeqLength) ?? (recorded?["max_seq_length"] is JsonValue l && int.TryParse(l.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int saved) ? saved : 128);
    string directory = parse.GetValue(dataDir)!;
    HhRlhfSplit which = parse.GetValue(split) == "train" ? HhRlhfSplit.Train : HhRlhfSplit.Test;

    NewLlmModel model = CheckpointFile.LoadModel(path);
    DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path) ?? await RebuildVocabularyAsync(directory, selected, model.Options.VocabSize, path, cancellationToken);
    HhRlhfDataset rows = await HhRlhfDataset.LoadFromDirectoryAsync(directory, selected, which, cancellationToken);
    var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = length };
    TokenizedCorpus corpus = TokenizedCorpus.Build(rows.GetNormalizedChosenTexts(), tokenizer, corpusOptions);
    TokenizedPreferencePairs pairs = TokenizedPreferencePairs.Build(rows, tokenizer, corpusOptions);
    EvaluationMetrics metrics = Evaluator.Evaluate(model, corpus, parse.GetValue(batchSize), pairs, cancellationToken);

    string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
    string kind = !original ? "NewLlm checkpoint" : stateDictOnly ? "PyTorch state dict" : "the original trainer's checkpoint";
    Console.WriteLine($"{path} ({kind}, {model.Options.NumLayers} layer(s), vocab {model.Options.VocabSize})");
    Console.WriteLine($"on {rows.SourceDescription}: {corpus.Count} dialogues, {metrics.TokenCount} predicted tokens, max_seq_length {length}");
    // Token-weighted figures first; then the original trainer's (the mean of the batches' mean losses) and the per-token preference accuracy.
    Console.WriteLine($"  Loss={F(metrics.Loss, "F4")} PPL={F(metrics.Perplexity, "F2")} Acc={F(metrics.Accuracy * 100, "F1")}% bits/byte={F(metrics.BitsPerByte, "F3")} (batch mean: Loss={F(metrics.BatchMeanLoss, "F4")} PPL={F(metrics.BatchMeanPerplexity, "F2")}) Pref={(metrics.PreferenceAccuracy is double p ? F(p * 100, "F1") + "%" : "n/a")} (per token: {(metrics.PerTokenPreferenceAccuracy is double t ? F(t * 100, "F1") + "%" : "n/a")})");
    return 0;
}

// What the original trainer's checkpoint records of its run: max_seq_length in its config (a state dict records nothing).
static JsonObject OriginalSettings(string path, out bool stateDictOnly)
{
    using PyTorchCheckpoint original = PyTorchCheckpoint.Read(path);
    stateDictOnly = original.IsStateDictOnly;
    var settings = new JsonObject();
    if (original.Config.TryGetValue("max_seq_length", out object? length) && length is not null)
    {
        settings["max_seq_length"] = length is int n and >= 2
            ? n
            : throw new InvalidDataException($"{path}: the checkpoint's config gives max_seq_length {length}, which is not a sequence length (a whole number, 2 or more). The file is damaged or was edited.");
    }

    return settings;
}

// The original stores no vocabulary: it rebuilds it from the training split at start-up, and so does this.
static async Task<DialogueTokenizer> RebuildVocabularyAsync(string directory, HhRlhfSubset subset, int vocabSize, string path, CancellationToken cancellationToken)
{
    HhRlhfDataset train = await HhRlhfDataset.LoadFromDirectoryAsync(directory, subset, HhRlhfSplit.Train, cancellationToken);
    WordLevelTokenizer tokenizer = WordLevelTokenizer.Build(train.GetNormalizedChosenTexts());
    return tokenizer.VocabSize == vocabSize
        ? tokenizer
        : throw new InvalidDataException($"The vocabulary rebuilt from {train.SourceDescription} has {tokenizer.VocabSize} ids, but the model in {path} has {vocabSize}: give the --data-dir and --subset it was trained on.");
}
