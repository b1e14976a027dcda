namespace NewLlm.Cli;

/// <summary>What the commands read of the original Python trainer's checkpoints, which record few settings and no vocabulary.</summary>
internal static class OriginalCheckpoints
{
    /// <summary>The settings the checkpoint records, as newllm's name them: its config's max_seq_length, and the word-level tokenizer (the original's only one).</summary>
    public static JsonObject Settings(PyTorchCheckpoint original, string path)
    {
        var settings = new JsonObject { ["tokenizer"] = "word" };
        if (original.Config.TryGetValue("max_seq_length", out object? length) && length is not null)
        {
            settings["max_seq_length"] = length is int n and >= 2
                ? n
                : throw new InvalidDataException($"{path}: the checkpoint's config gives max_seq_length {length}, which is not a sequence length (a whole number, 2 or more). The file is damaged or was edited.");
        }

        return settings;
    }

    /// <summary>
    /// The vocabulary of the model in <paramref name="path"/> (of <paramref name="vocabSize"/> ids), rebuilt as the original
    /// does at start-up from the HH-RLHF training split it was trained on (<c>--data-dir</c>, <c>--subset</c>).
    /// </summary>
    public static async Task<DialogueTokenizer> RebuildVocabularyAsync(string path, string? directory, string subsetName, int vocabSize, CancellationToken cancellationToken)
    {
        if (directory is null)
        {
            throw new ArgumentException($"{path} holds no vocabulary (an original New-LLM checkpoint): give --data-dir (and --subset) of the data it was trained on, and the vocabulary is rebuilt from it as the original does.");
        }

        HhRlhfDataset train = await HhRlhfDataset.LoadFromDirectoryAsync(directory, HhRlhfLayout.ParseSubset(subsetName), HhRlhfSplit.Train, cancellationToken);
        WordLevelTokenizer tokenizer = WordLevelTokenizer.Build(train.GetNormalizedChosenTexts());
        return tokenizer.VocabSize == vocabSize
            ? tokenizer
            : throw new InvalidDataException($"The vocabulary rebuilt from {train.SourceDescription} has {tokenizer.VocabSize} ids, but the model in {path} has {vocabSize}: give the --data-dir and --subset it was trained on.");
    }
}
