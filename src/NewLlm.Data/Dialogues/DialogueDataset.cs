namespace NewLlm.Data;

/// <summary>
/// A dialogue data set as the original trains on it: where its files are (on the Hub and in a folder laid out like the
/// Hub repository), how its rows become text (<see cref="Format"/>), whether it has a test split or is split 90/10 like
/// the <c>datasets</c> library's <c>train_test_split</c>, and the original's recipe (vocabulary rows, epochs, model name).
/// </summary>
/// <remarks>
/// The sets of the original's progression: <see cref="Dolly"/> (level 1), <see cref="HhRlhf"/> (level 2),
/// <see cref="UltraChat"/> and <see cref="UltraChat200k"/> (level 3), <see cref="CodeAlpaca"/> (level 4) and <see cref="Math"/>
/// (level 5), which the original planned but never built; <see cref="JsonLines"/> for your own data.
/// </remarks>
public sealed class DialogueDataset
{
    private DialogueDataset(
        string name, string displayName, string? subset, string? hubRepositoryId, DialogueFormat? format,
        IReadOnlyList<string> trainFiles, IReadOnlyList<string> testFiles, string trainSplitName, string testSplitName,
        int? vocabularyRowLimit, int defaultEpochs, string modelName, bool keepsWhitespace = false)
    {
        KeepsWhitespace = keepsWhitespace;
        Name = name;
        DisplayName = displayName;
        Subset = subset;
        HubRepositoryId = hubRepositoryId;
        Format = format;
        TrainFilePatterns = trainFiles;
        TestFilePatterns = testFiles;
        TrainSplitName = trainSplitName;
        TestSplitName = testSplitName;
        VocabularyRowLimit = vocabularyRowLimit;
        DefaultEpochs = defaultEpochs;
        ModelName = modelName;
    }

    /// <summary>The names <see cref="Parse"/> reads: <c>hh-rlhf</c>, <c>dolly</c>, <c>ultrachat</c>, <c>ultrachat-200k</c>, <c>codealpaca</c>, <c>math</c>, <c>jsonl</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["hh-rlhf", "dolly", "ultrachat", "ultrachat-200k", "codealpaca", "math", "jsonl"];

    /// <summary>Dolly-15k (<c>databricks/databricks-dolly-15k</c>): one file of about 15,011 rows, split 90/10; 100 epochs in the original.</summary>
    public static DialogueDataset Dolly { get; } = new(
        "dolly", "Dolly-15k", null, "databricks/databricks-dolly-15k", DollyFormat.Instance,
        ["databricks-dolly-15k.jsonl"], [], "train", "test", null, 100, "new_llm_dolly");

    /// <summary>
    /// UltraChat (<c>stingning/ultrachat</c>): <c>train_0.jsonl</c> … <c>train_9.jsonl</c>, about 1.47M dialogues, split
    /// 90/10, the vocabulary built from the first 10,000 training dialogues; 50 epochs in the original.
    /// </summary>
    public static DialogueDataset UltraChat { get; } = new(
        "ultrachat", "UltraChat", null, "stingning/ultrachat", new TurnListFormat("data"),
        ["train_*.jsonl"], [], "train", "test", 10_000, 50, "new_llm_ultrachat");

    /// <summary>
    /// UltraChat 200k (<c>HuggingFaceH4/ultrachat_200k</c>): Parquet files <c>data/train_sft-*.parquet</c> and
    /// <c>data/test_sft-*.parquet</c>, column <c>messages</c>; the contents joined as for UltraChat (no role labels), the
    /// vocabulary from the first 10,000 training dialogues. The original meant to fall back to it but its loader asked for
    /// a <c>train</c> split the set does not have.
    /// </summary>
    public static DialogueDataset UltraChat200k { get; } = new(
        "ultrachat-200k", "UltraChat 200k", null, "HuggingFaceH4/ultrachat_200k", new ChatMessagesFormat("messages", includeRoles: false),
        ["data/train_sft-*.parquet"], ["data/test_sft-*.parquet"], "train_sft", "test_sft", 10_000, 50, "new_llm_ultrachat");

    /// <summary>
    /// CodeAlpaca-20k (<c>sahil2801/CodeAlpaca-20k</c>): one file, <c>code_alpaca_20k.json</c>, a JSON array of about 20,022
    /// objects (<c>instruction</c>, <c>input</c>, <c>output</c>; see <see cref="CodeAlpacaFormat"/>), split 90/10 as Dolly;
    /// level 4 of the original's plan, 200 epochs. Its text keeps whitespace (<see cref="KeepsWhitespace"/>): train it with
    /// the GPT-2 tokenizer, since the word-level one turns code into a stream of words.
    /// </summary>
    public static DialogueDataset CodeAlpaca { get; } = new(
        "codealpaca", "CodeAlpaca-20k", null, "sahil2801/CodeAlpaca-20k", CodeAlpacaFormat.Instance,
        ["code_alpaca_20k.json"], [], "train", "test", null, 200, "new_llm_codealpaca", keepsWhitespace: true);

    /// <summary>The short name: <c>dolly</c>, <c>hh-rlhf</c>, <c>ultrachat</c>, <c>ultrachat-200k</c>, <c>codealpaca</c>, <c>math</c> or <c>jsonl</c>.</summary>
    public string Name { get; }

    /// <summary>The name in prose, for example <c>HH-RLHF harmless</c>.</summary>
    public string DisplayName { get; }

    /// <summary>The subset (HH-RLHF), or <see langword="null"/>.</summary>
    public string? Subset { get; }

    /// <summary>The Hub repository, or <see langword="null"/> for your own files.</summary>
    public string? HubRepositoryId { get; }

    /// <summary>How rows become text, or <see langword="null"/> (JSON Lines of your own) when it is told by the first row.</summary>
    public DialogueFormat? Format { get; }

    /// <summary>Whether the set has its own test files; otherwise its rows are split 90/10 as the original splits them.</summary>
    public bool HasTestSplit => TestFilePatterns.Count > 0;

    /// <summary>How many of the first training rows the word-level vocabulary is built from (<see langword="null"/>: all).</summary>
    public int? VocabularyRowLimit { get; }

    /// <summary>
    /// Whether the set's text keeps its newlines and indentation (code, LaTeX: <see cref="CodeAlpaca"/>, <see cref="Math"/>)
    /// rather than being whitespace-normalised. The GPT-2 tokenizer is the one to use for such a set: the word-level
    /// tokenizer splits on whitespace, so it drops them.
    /// </summary>
    public bool KeepsWhitespace { get; }

    /// <summary>The original's number of epochs for the set.</summary>
    public int DefaultEpochs { get; }

    /// <summary>The original's model name stem, to which <c>_layers{n}</c> is added (<c>new_llm_dolly</c>).</summary>
    public string ModelName { get; }

    /// <summary>The training files relative to the set's folder (the Hub's layout), <c>*</c> matching within a file name.</summary>
    internal IReadOnlyList<string> TrainFilePatterns { get; }

    /// <summary>The test files, or none when the set is split.</summary>
    internal IReadOnlyList<string> TestFilePatterns { get; }

    /// <summary>The training split's name in a <c>save_to_disk</c> <c>DatasetDict</c>.</summary>
    internal string TrainSplitName { get; }

    /// <summary>The test split's name in a <c>save_to_disk</c> <c>DatasetDict</c>.</summary>
    internal string TestSplitName { get; }

    /// <summary>Anthropic HH-RLHF (<c>Anthropic/hh-rlhf</c>), one subset or all; its own test files; 100 epochs in the original.</summary>
    /// <param name="subset">The subset.</param>
    /// <returns>The set.</returns>
    public static DialogueDataset HhRlhf(HhRlhfSubset subset = HhRlhfSubset.Helpful) => CreateHhRlhf(subset, HhRlhfSplit.Train, HhRlhfSplit.Test);

    /// <summary>HH-RLHF with the files of one split only, as its training files (what <see cref="HhRlhfDataset"/> loads).</summary>
    internal static DialogueDataset HhRlhfSplitOnly(HhRlhfSubset subset, HhRlhfSplit split) => CreateHhRlhf(subset, split, null);

    private static DialogueDataset CreateHhRlhf(HhRlhfSubset subset, HhRlhfSplit train, HhRlhfSplit? test)
    {
        var singles = HhRlhfLayout.Expand(subset);
        string[] Files(HhRlhfSplit? split) => split is { } s ? [.. singles.Select(single => HhRlhfLayout.GetRelativePath(single, s))] : [];
        string name = HhRlhfLayout.GetSubsetName(subset);
        return new DialogueDataset(
            "hh-rlhf", $"HH-RLHF {name}", name, HhRlhfLayout.RepositoryId, new PreferencePairFormat(),
            Files(train), Files(test), HhRlhfLayout.GetSplitName(train), "test", null, 100, "new_llm_hh_rlhf");
    }

    /// <summary>
    /// MATH (<c>hendrycks/competition_math</c>; 7,500 training and 5,000 test problems), level 5 of the original's plan,
    /// 200 epochs: the Parquet files <c>data/train-*.parquet</c> and <c>data/test-*.parquet</c> of the Hub's mirrors, or the
    /// original release's tree <c>MATH/{train,test}/&lt;type&gt;/&lt;n&gt;.json</c> (a folder, or a zip read in place; see
    /// <see cref="DialogueSource.FromDirectoryAsync"/>). Its text keeps whitespace (<see cref="KeepsWhitespace"/>).
    /// </summary>
    /// <param name="format">The format with a level and type filter, or <see langword="null"/> for every row.</param>
    /// <returns>The set.</returns>
    public static DialogueDataset Math(MathFormat? format = null)
    {
        format ??= MathFormat.All;
        return new DialogueDataset(
            "math", format.Filter.Length > 0 ? $"MATH ({format.Filter})" : "MATH", null, "hendrycks/competition_math", format,
            ["data/train-*.parquet"], ["data/test-*.parquet"], "train", "test", null, 200, "new_llm_math", keepsWhitespace: true);
    }

    /// <summary>
    /// Your own JSON Lines files (plain or gzip): rows with a <c>messages</c> list of <c>{role, content}</c>, a <c>text</c>
    /// string, or a <c>chosen</c>/<c>rejected</c> pair. Give the format for other field names; without it the first row
    /// tells which of the three it is. A single file is split 90/10 like Dolly unless a test file is given.
    /// </summary>
    /// <param name="format">The format, or <see langword="null"/> to tell it from the first row.</param>
    /// <returns>The set.</returns>
    public static DialogueDataset JsonLines(DialogueFormat? format = null) => new(
        "jsonl", "JSON Lines", null, null, format, ["*.jsonl", "*.jsonl.gz"], [], "train", "test", null, 100, "new_llm_dialogue");

    /// <summary>The set of a name in <see cref="Names"/> (any case); for <c>hh-rlhf</c> with a subset name, for the others none.</summary>
    /// <param name="name">The name.</param>
    /// <param name="subset">The HH-RLHF subset (<c>helpful</c> when not given), or <see langword="null"/>.</param>
    /// <returns>The set.</returns>
    /// <exception cref="FormatException">The name is not one of <see cref="Names"/>, or a subset is given for a set without subsets.</exception>
    public static DialogueDataset Parse(string name, string? subset = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().ToLowerInvariant().Replace('_', '-');
        if (subset is not null && key != "hh-rlhf")
        {
            throw new FormatException($"'{name}' has no subsets; a subset is only given for hh-rlhf.");
        }

        return key switch
        {
            "hh-rlhf" or "hhrlhf" or "anthropic/hh-rlhf" => HhRlhf(subset is null ? HhRlhfSubset.Helpful : HhRlhfLayout.ParseSubset(subset)),
            "dolly" or "dolly-15k" or "databricks/databricks-dolly-15k" => Dolly,
            "ultrachat" or "stingning/ultrachat" => UltraChat,
            "ultrachat-200k" or "huggingfaceh4/ultrachat-200k" => UltraChat200k,
            "codealpaca" or "code-alpaca" or "codealpaca-20k" or "sahil2801/codealpaca-20k" => CodeAlpaca,
            "math" or "competition-math" or "hendrycks/competition-math" => Math(),
            "jsonl" or "json" => JsonLines(),
            _ => throw new FormatException($"'{name}' is not a dialogue data set; expected one of {string.Join(", ", Names)}."),
        };
    }

    /// <inheritdoc />
    public override string ToString() => DisplayName;
}
