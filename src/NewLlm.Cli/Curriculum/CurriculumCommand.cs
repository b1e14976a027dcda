using TorchSharp;

namespace NewLlm.Cli;

/// <summary>
/// <c>newllm curriculum</c>: the original's progression as one command, on <see cref="CurriculumRunner"/>. The levels of
/// the built-in plan (<see cref="CurriculumRecipe.Original"/>) or a recipe file, chosen with <c>--levels</c>, each from the
/// previous level's best checkpoint; a summary table, <c>curriculum.json</c> and a PNG of the PPL across levels at the
/// end. The same command again resumes an interrupted curriculum.
/// </summary>
internal sealed class CurriculumCommand : Command
{
    public CurriculumCommand()
        : base("curriculum", "Train the original's progression of data sets as one run (Dolly-15k, HH-RLHF, UltraChat, CodeAlpaca, MATH), each level from the previous level's best checkpoint, growing the model as the plan does. Ctrl-C saves a checkpoint; the same command again resumes.")
    {
        Vocabulary.AcceptOnlyFromAmong("keep", "rebuild");
        Expansion.AcceptOnlyFromAmong("replicate", "original");
        OnNotCleared.AcceptOnlyFromAmong("stop", "warn");
        TokenizerKind.AcceptOnlyFromAmong("word", "gpt2");
        foreach (Option option in (Option[])[
            Levels, Recipe, DataDir, Subset, MathLevels, MathTypes, MaxSamples, Epochs, BatchSize, LearningRate, Seed, Threads, Precision, TokenizerKind,
            Vocabulary, Expansion, OnNotCleared, Output, Overwrite])
        {
            Options.Add(option);
        }

        CommandLine.SetAction(this, RunAsync);
    }

    public Option<string?> Levels { get; } = new("--levels") { Description = $"The levels to train, comma-separated, in the plan's order (default all: {string.Join(",", CurriculumRecipe.Original.Levels.Select(l => l.Name))})." };

    public Option<string?> Recipe { get; } = new("--recipe") { Description = "A recipe file (JSON: {\"levels\": [{\"name\", \"cleared_ppl\", \"layers\", \"context_size\", \"max_seq_length\", \"epochs\", \"patience\", \"subset\", \"max_samples\"}]}) instead of the built-in plan." };

    public Option<string[]> DataDir { get; } = new("--data-dir", "--data_dir") { Description = "NAME=PATH: a level's local folder (repeatable); or ROOT: a folder with a subfolder per level, named by the level or its Hub repository (dolly or databricks-dolly-15k). A level without one downloads from the Hub.", AllowMultipleArgumentsPerToken = false };

    public Option<string?> Subset { get; } = new("--subset") { Description = "The hh-rlhf level's subset (default helpful, or the only subset its local folder holds)." };

    public Option<string?> MathLevels { get; } = new("--math-levels", "--math_levels") { Description = "The math level's problem levels, comma-separated (for example 1,2; default all)." };

    public Option<string?> MathTypes { get; } = new("--math-types", "--math_types") { Description = $"The math level's problem types, comma-separated (default all: {string.Join(", ", MathFormat.TypeNames)})." };

    public Option<int?> MaxSamples { get; } = new("--max_samples", "--max-samples") { Description = "Every level trains on its first N dialogues (and N/10 test ones)." };

    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Every level's epochs, instead of the plan's (100 to 200)." };

    public Option<int> BatchSize { get; } = new("--batch_size", "--batch-size") { Description = "Sequences per batch.", DefaultValueFactory = _ => 2048 };

    public Option<double> LearningRate { get; } = new("--lr", "--learning_rate", "--learning-rate") { Description = "Learning rate.", DefaultValueFactory = _ => 0.0008 };

    public Option<int> Seed { get; } = new("--seed") { Description = "Random seed (the first model, dropout, batch order).", DefaultValueFactory = _ => 42 };

    public Option<int> Threads { get; } = new("--threads") { Description = "CPU threads for torch and tokenization (default: one per processor).", DefaultValueFactory = _ => Environment.ProcessorCount };

    public Option<string> Precision { get; } = PrecisionOption.Create();

    public Option<string> TokenizerKind { get; } = new("--tokenizer") { Description = "word (the original's 1000-word vocabulary) or gpt2 (the same ids at every level; recommended for code and mathematics).", DefaultValueFactory = _ => "word" };

    public Option<string> Vocabulary { get; } = new("--vocabulary") { Description = "keep: the first level's word vocabulary at every level (each set's unknown-word rate is reported); rebuild: each level's own, as the original (the embedding and output layer start anew).", DefaultValueFactory = _ => "keep" };

    public Option<string> Expansion { get; } = new("--expansion") { Description = "How a level that grows the context widens the model: replicate (the function kept) or original (the original's rule).", DefaultValueFactory = _ => "replicate" };

    public Option<string?> OnNotCleared { get; } = new("--on-not-cleared") { Description = "stop or warn at a level whose validation PPL misses its cleared threshold (default: stop; warn when --epochs or --max_samples shorten the plan)." };

    public Option<string> Output { get; } = new("--output") { Description = "The curriculum's folder: curriculum.json, a folder per level, the summary PNG.", DefaultValueFactory = _ => "curriculum" };

    public Option<bool> Overwrite { get; } = new("--overwrite") { Description = "Start afresh where --output holds an earlier curriculum (its results are replaced)." };

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        TorchBackend.EnsureLoaded();
        int threads = parse.GetValue(Threads);
        torch.set_num_threads(threads >= 1 ? threads : throw new ArgumentException($"--threads must be at least 1, not {threads}."));
        CurriculumRecipe recipe = parse.GetValue(Recipe) is string file ? CurriculumRecipe.Load(file) : CurriculumRecipe.Original;
        if (parse.GetValue(Levels) is string names)
        {
            recipe = recipe.Select(names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        if (parse.GetValue(Subset) is string subset)
        {
            _ = recipe.Levels.Any(l => l.Name == "hh-rlhf") ? HhRlhfLayout.ParseSubset(subset) : throw new ArgumentException("--subset is for the hh-rlhf level, which this curriculum does not have.");
            recipe = new CurriculumRecipe(recipe.Levels.Select(l => l.Name == "hh-rlhf" ? l with { Subset = subset } : l));
        }

        if (parse.GetValue(MathLevels) is string || parse.GetValue(MathTypes) is string)
        {
            if (!recipe.Levels.Any(l => l.Name == "math"))
            {
                throw new ArgumentException("--math-levels and --math-types filter the math level, which this curriculum does not have.");
            }

            recipe = new CurriculumRecipe(recipe.Levels.Select(l => l.Name == "math" ? l with { MathLevels = parse.GetValue(MathLevels), MathTypes = parse.GetValue(MathTypes) } : l));
        }

        var options = new CurriculumOptions
        {
            OutputDirectory = parse.GetValue(Output)!,
            Tokenizer = parse.GetValue(TokenizerKind)!,
            Vocabulary = parse.GetValue(Vocabulary) == "rebuild" ? VocabularyPolicy.Rebuild : VocabularyPolicy.Keep,
            Expansion = parse.GetValue(Expansion) == "original" ? ContextExpansion.Original : ContextExpansion.Replicate,
            OnNotCleared = parse.GetValue(OnNotCleared) switch { "stop" => NotClearedAction.Stop, "warn" => NotClearedAction.Warn, _ => null },
            BatchSize = parse.GetValue(BatchSize),
            LearningRate = parse.GetValue(LearningRate),
            Seed = parse.GetValue(Seed),
            Precision = PrecisionOption.ToPrecision(parse.GetValue(Precision)!),
            Epochs = parse.GetValue(Epochs),
            MaxSamples = parse.GetValue(MaxSamples),
            Overwrite = parse.GetValue(Overwrite),
        };
        CurriculumDataFolders.Resolve(parse.GetValue(DataDir) ?? [], recipe, options.DataDirectories);
        options.Validate();
        Console.WriteLine($"Curriculum of {recipe.Levels.Count} level(s) ({string.Join(", ", recipe.Levels.Select(l => $"{l.Name}: {l.Layers} layer(s), context {l.ContextSize}, PPL < {l.ClearedPerplexity.ToString(CultureInfo.InvariantCulture)}"))}) into {options.OutputDirectory}.");
        if (options.OnNotCleared is null && options.NotClearedAction == NotClearedAction.Warn)
        {
            Console.WriteLine("--epochs/--max_samples shorten the plan: a level that misses its cleared PPL is reported and the run goes on (--on-not-cleared stop to stop there).");
        }

        var progress = new ConsoleProgress(interactive: !Console.IsOutputRedirected);
        var runner = new CurriculumRunner(recipe, options, new ConsoleWarningLoggerFactory())
        {
            Callbacks = _ => Console.IsOutputRedirected
                ? [new ConsoleReporter(), new DivergenceMonitor(), new TrainingCurvesPlotter(), new TrainingProgressReporter(progress)]
                : [new ConsoleReporter(), new DivergenceMonitor(), new TrainingCurvesPlotter()],
            Progress = new Progress(progress),
            DownloadProgress = progress,
            CorpusProgress = progress,
        };
        CurriculumResult result = await runner.RunAsync(cancellationToken);
        progress.Finish();
        if (result.Outcome == CurriculumOutcome.Cancelled)
        {
            Console.Error.WriteLine($"[Curriculum interrupted at level {result.Levels.Count + 1} of {result.LevelCount}: run the same command again to resume it there]");
            return 130;
        }

        string png = Path.Combine(options.OutputDirectory, "curriculum_ppl.png");
        CurriculumPlotter.Write(result, png);
        Console.WriteLine(result.LevelsSkipped == result.LevelCount || (result.Outcome == CurriculumOutcome.NotCleared && result.LevelsSkipped == result.Levels.Count)
            ? $"The curriculum in {options.OutputDirectory} was finished by an earlier run{(result.Outcome == CurriculumOutcome.NotCleared ? " (it stopped at a level that was not cleared)" : string.Empty)}; its summary:"
            : result.Outcome == CurriculumOutcome.NotCleared ? $"The curriculum stopped after level {result.Levels.Count} of {result.LevelCount}, which is not cleared:" : "Curriculum finished:");
        Console.Write(result.FormatTable());
        Console.WriteLine($"Summary: {result.StatePath}, {Path.GetFullPath(png)}");
        return 0;
    }

    // The runner's sentences, as lines of their own (a progress line open on a terminal is ended first).
    private sealed class Progress(ConsoleProgress console) : IProgress<CurriculumProgress>
    {
        public void Report(CurriculumProgress value)
        {
            console.Finish();
            Console.WriteLine(value.ToString());
        }
    }
}
