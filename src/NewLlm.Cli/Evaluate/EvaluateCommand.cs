namespace NewLlm.Cli;

/// <summary>
/// <c>newllm evaluate</c>: loss, perplexity, next-token accuracy, bits per byte and preference accuracy of a checkpoint on
/// an HH-RLHF split, the same metrics for NewLlm's checkpoints and the original Python trainer's, so models from both can
/// be compared on the same data.
/// </summary>
internal sealed class EvaluateCommand : Command
{
    private readonly Option<string> _checkpoint = new("--checkpoint") { Description = "A checkpoint written by NewLlm (either model), or one of the original Python trainer's (its vocabulary is rebuilt from the training split of --data-dir).", Required = true };
    private readonly Option<string> _dataDir = new("--data-dir", "--data_dir") { Description = "A local HH-RLHF folder laid out like the Hub repository (<dir>/<subset>/<split>.jsonl.gz) (default: the folder the checkpoint was trained on when that is HH-RLHF, else a download from the Hub; a checkpoint of another set needs it)." };
    private readonly Option<string> _subset = new("--subset") { Description = "HH-RLHF subset (default: the checkpoint's, else helpful)." };
    private readonly Option<string> _split = new("--split") { Description = "test or train.", DefaultValueFactory = _ => "test" };
    private readonly Option<int?> _maxSeqLength = new("--max_seq_length", "--max-seq-length") { Description = "Tokens per dialogue (default: the checkpoint's, else 128). Compare models at the same length." };
    private readonly Option<int> _batchSize = new("--batch_size", "--batch-size") { Description = "Sequences per batch.", DefaultValueFactory = _ => 64 };

    public EvaluateCommand()
        : base("evaluate", "Measure a checkpoint (New-LLM's or the Transformer baseline's, NewLlm's or the original's) on an HH-RLHF split.")
    {
        _split.AcceptOnlyFromAmong("test", "train");
        foreach (Option option in (Option[])[_checkpoint, _dataDir, _subset, _split, _maxSeqLength, _batchSize])
        {
            Options.Add(option);
        }

        CommandLine.SetAction(this, RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        TorchBackend.EnsureLoaded();
        string path = parse.GetValue(_checkpoint)!;
        CheckpointArgument.RequireFile(path, "--checkpoint");

        bool original = CheckpointFile.IsOriginalCheckpoint(path);
        bool stateDictOnly = false;
        JsonObject recorded;
        if (original)
        {
            using PyTorchCheckpoint checkpoint = PyTorchCheckpoint.Read(path);
            stateDictOnly = checkpoint.IsStateDictOnly;
            recorded = OriginalCheckpoints.Settings(checkpoint, path);
        }
        else
        {
            recorded = CheckpointFile.ReadManifest(path).TrainerOptions;
        }

        // Evaluate reads HH-RLHF: a checkpoint of another set has no HH-RLHF folder to default to (its data_dir is that set's).
        if (parse.GetValue(_dataDir) is null && recorded["dataset"] is JsonValue trained && trained.ToString() is var trainedName && trainedName != "hh-rlhf")
        {
            string setName = DialogueDataset.Names.Contains(trainedName) ? DialogueDataset.Parse(trainedName).DisplayName : trainedName;
            throw new ArgumentException($"evaluate reads HH-RLHF; {path} was trained on {setName}: pass --data-dir <an HH-RLHF folder> (its vocabulary is used on it).");
        }

        string subsetName = parse.GetValue(_subset) ?? (recorded["subset"] is JsonValue s ? s.ToString() : "helpful");
        HhRlhfSubset selected = HhRlhfLayout.TryParseSubset(subsetName, out HhRlhfSubset parsedSubset)
            ? parsedSubset
            : throw new ArgumentException($"--subset '{subsetName}' is not an HH-RLHF subset: use {string.Join(", ", HhRlhfLayout.SubsetNames)}.");
        int length = parse.GetValue(_maxSeqLength) ?? (recorded["max_seq_length"] is JsonValue l && int.TryParse(l.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int saved) ? saved : 128);
        string? directory = parse.GetValue(_dataDir) ?? (recorded["data_dir"] is JsonValue d ? d.ToString() : null);
        HhRlhfSplit which = parse.GetValue(_split) == "train" ? HhRlhfSplit.Train : HhRlhfSplit.Test;

        using LanguageModel model = CheckpointFile.LoadModel(path);
        DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path) ?? await OriginalCheckpoints.RebuildVocabularyAsync(path, directory, subsetName, model.VocabSize, cancellationToken);
        if (model.MaxSequenceLength is int positions && length - 1 > positions)
        {
            throw new ArgumentException($"--max_seq_length {length}: the {model.ModelType} model in {path} reads at most {positions} positions, so it evaluates rows of at most {positions + 1} tokens; give --max_seq_length {positions + 1} or less.");
        }

        HhRlhfDataset rows = directory is null
            ? await HhRlhfDataset.LoadFromHubAsync(selected, which, progress: new ConsoleProgress(!Console.IsOutputRedirected), cancellationToken: cancellationToken)
            : await HhRlhfDataset.LoadFromDirectoryAsync(directory, selected, which, cancellationToken);
        var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = length };
        TokenizedCorpus corpus = TokenizedCorpus.Build(rows.GetNormalizedChosenTexts(), tokenizer, corpusOptions);
        TokenizedPreferencePairs pairs = TokenizedPreferencePairs.Build(rows, tokenizer, corpusOptions);
        EvaluationMetrics metrics = Evaluator.Evaluate(model, corpus, parse.GetValue(_batchSize), pairs, cancellationToken);

        string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
        string kind = !original ? "NewLlm checkpoint" : stateDictOnly ? "PyTorch state dict" : "the original trainer's checkpoint";
        Console.WriteLine(model is NewLlmModel newLlm
            ? $"{path} ({kind}, {newLlm.Options.NumLayers} layer(s), vocab {newLlm.Options.VocabSize})"
            : $"{path} ({kind}, {model.ModelType}: {model.OptionsDescription})");
        Console.WriteLine($"on {rows.SourceDescription}: {corpus.Count} dialogues, {metrics.TokenCount} predicted tokens, max_seq_length {length}");
        // Token-weighted figures first; then the original trainer's (the mean of the batches' mean losses) and the per-token preference accuracy.
        Console.WriteLine($"  Loss={F(metrics.Loss, "F4")} PPL={F(metrics.Perplexity, "F2")} Acc={F(metrics.Accuracy * 100, "F1")}% bits/byte={F(metrics.BitsPerByte, "F3")} (batch mean: Loss={F(metrics.BatchMeanLoss, "F4")} PPL={F(metrics.BatchMeanPerplexity, "F2")}) Pref={(metrics.PreferenceAccuracy is double p ? F(p * 100, "F1") + "%" : "n/a")} (per token: {(metrics.PerTokenPreferenceAccuracy is double t ? F(t * 100, "F1") + "%" : "n/a")})");
        return 0;
    }
}
