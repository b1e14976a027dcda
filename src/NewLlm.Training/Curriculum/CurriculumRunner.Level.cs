namespace NewLlm.Training;

/// <summary>One level of a curriculum: its data, its starting model, its trainer.</summary>
public sealed partial class CurriculumRunner
{
    // Trains level `index` (or resumes it from its latest checkpoint); null when cancelled.
    private async Task<CurriculumLevelResult?> RunLevelAsync(int index, string? previousBest, bool resumable, CancellationToken cancellationToken)
    {
        CurriculumLevel level = _recipe.Levels[index];
        string? directory = _options.DataDirectories.TryGetValue(level.Name, out string? given) ? given : null;
        DialogueDataset set = ResolveDataset(index, level, directory);
        string levelDirectory = Path.Combine(Path.GetFullPath(_options.OutputDirectory), string.Create(CultureInfo.InvariantCulture, $"{index + 1:00}-{level.Name.ToLowerInvariant()}"));
        var options = new TrainerOptions
        {
            ModelName = $"{set.ModelName}_layers{level.Layers}" + (level.ContextSize == new NewLlmOptions().ContextDim ? string.Empty : $"_context{level.ContextSize}"),
            Epochs = _options.Epochs ?? level.Epochs,
            BatchSize = _options.BatchSize,
            LearningRate = _options.LearningRate,
            Seed = _options.Seed,
            Precision = _options.Precision,
            EarlyStoppingPatience = level.EarlyStoppingPatience,
            OutputDirectory = levelDirectory,
            OverwriteOutput = _options.Overwrite,
        }.Validate();

        // An interrupted level of this curriculum goes on from its latest checkpoint; without one, its folder is ours to refill.
        string? latest = resumable && !_options.Overwrite ? RunDirectory.FindLatestCheckpoint(levelDirectory, options.ModelName) : null;
        CheckpointManifest? resumed = latest is null ? null : CheckpointFile.ReadManifest(latest);
        options.OverwriteOutput |= resumable && latest is null;
        Report(index, $"{set.DisplayName} from {directory ?? "the Hugging Face Hub"}{(latest is null ? string.Empty : $", resuming {Path.GetFileName(latest)}")}.");
        DialogueSource source = directory is null
            ? await DialogueSource.FromHubAsync(set, progress: DownloadProgress, logger: _logger, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await DialogueSource.FromDirectoryAsync(set, directory, cancellationToken).ConfigureAwait(false);

        bool word = _options.Tokenizer == "word";
        if (word && set.KeepsWhitespace)
        {
            Report(index, $"{set.DisplayName} keeps its newlines and indentation (code, LaTeX), which the word-level tokenizer drops (it splits on whitespace); the gpt2 tokenizer keeps them.");
        }

        bool rebuild = word && _options.Vocabulary == VocabularyPolicy.Rebuild && previousBest is not null;
        DialogueTokenizer? tokenizer = latest is not null ? CheckpointFile.LoadTokenizer(latest)
            : !word ? Gpt2DialogueTokenizer.Create()
            : previousBest is null || rebuild ? null
            : CheckpointFile.LoadTokenizer(previousBest) ?? throw new InvalidDataException($"{previousBest}: the checkpoint holds no tokenizer, so its vocabulary cannot be kept.");
        var corpusOptions = new DialogueCorpusOptions { MaxSequenceLength = level.MaxSequenceLength, MaxSamples = _options.MaxSamples ?? level.MaxSamples };
        using DialogueCorpus corpus = await DialogueCorpus.LoadAsync(
            source, Path.Combine(_options.OutputDirectory, "cache"), corpusOptions, tokenizer, _loggers.CreateLogger<DialogueCorpus>(), CorpusProgress, cancellationToken).ConfigureAwait(false);
        if (resumed?.TrainerOptions["data_sha256"] is JsonNode saved && (string?)saved != corpus.SourceChecksum)
        {
            throw new InvalidDataException($"Level {index + 1} ({level.Name}): the data in {directory ?? "the Hub's files"} are not the data {latest} was trained on (their SHA-256 differs): an interrupted level resumes only on the same rows. Point its data folder at them again, or start the curriculum afresh (overwrite).");
        }

        double? unknownRate = corpus.Coverage?.UnknownRate ?? (double?)resumed?.TrainerOptions["unknown_word_rate"];
        Report(index, string.Create(CultureInfo.InvariantCulture, $"{corpus.Train.Count:N0} training and {corpus.Test.Count:N0} test dialogues; ")
            + (!word ? "GPT-2 tokens (the same ids at every level)."
                : string.Create(CultureInfo.InvariantCulture, $"{(tokenizer is null ? "a vocabulary built from its training rows" : "the first level's vocabulary")} leaves {unknownRate * 100:F1}% of its words unknown.")));

        torch.random.manual_seed(_options.Seed);
        NewLlmModel model = latest is not null ? LoadNewLlm(latest)
            : previousBest is null ? new NewLlmModel(new NewLlmOptions { VocabSize = corpus.Tokenizer.VocabSize, NumLayers = level.Layers, ContextDim = level.ContextSize })
            : StartingModel(index, previousBest, rebuild, corpus.Tokenizer.VocabSize, options);
        try
        {
            Record(options, set, directory, corpus, level.MaxSequenceLength, corpusOptions.MaxSamples, unknownRate, previousBest, rebuild);
            if (resumed is not null)
            {
                // A resumed level records its growth as its first run did.
                JsonObject earlier = resumed.TrainerOptions;
                foreach (string key in (string[])["grown_from_layers", "expanded_from_context", "expansion"])
                {
                    if (earlier[key] is JsonNode value)
                    {
                        options.RunConfiguration[key] = value.DeepClone();
                    }
                }
            }

            using var trainer = new Trainer(model, corpus.Train, corpus.Test, options, corpus.Tokenizer, null, Callbacks?.Invoke(level), _loggers.CreateLogger<Trainer>());
            if (latest is not null)
            {
                trainer.LoadCheckpoint(latest);
            }

            bool finished = resumed?.Kind == CheckpointKind.Final;
            TrainingResult? result = finished ? null : await trainer.TrainAsync(cancellationToken).ConfigureAwait(false);
            if (result?.Outcome == TrainingOutcome.Cancelled)
            {
                return null;
            }

            TrainerState state = trainer.State;
            EvaluationMetrics? best = state.History.FirstOrDefault(r => r.Epoch == state.BestEpoch)?.Validation;
            return new CurriculumLevelResult(
                index + 1, level.Name, set.DisplayName, model.Options.NumLayers, model.Options.ContextDim, best?.Perplexity, best?.Accuracy,
                level.ClearedPerplexity, best?.Perplexity < level.ClearedPerplexity, state.History.Sum(r => r.EpochSeconds), state.BestCheckpointPath ?? RunDirectory.CheckpointPath(options, CheckpointKind.Best),
                state.CompletedEpochs, result?.Outcome ?? TrainingOutcome.Completed, unknownRate, [.. state.History.Where(r => r.Validation is not null).Select(r => r.Validation!.Perplexity)]);
        }
        finally
        {
            model.Dispose();
        }
    }

    // The level's set; an HH-RLHF folder without the default subset's folder but with exactly one other subset's reads that one.
    private DialogueDataset ResolveDataset(int index, CurriculumLevel level, string? directory, bool say = true)
    {
        string? subset = level.Subset;
        if (subset is null && directory is not null && string.Equals(level.Name, "hh-rlhf", StringComparison.OrdinalIgnoreCase)
            && !Directory.Exists(Path.Combine(directory, HhRlhfLayout.GetDirectoryName(HhRlhfSubset.Helpful))))
        {
            string[] present = [.. HhRlhfLayout.Expand(HhRlhfSubset.All).Where(s => Directory.Exists(Path.Combine(directory, HhRlhfLayout.GetDirectoryName(s)))).Select(HhRlhfLayout.GetSubsetName)];
            if (present.Length == 1)
            {
                subset = present[0];
                if (say)
                {
                    Report(index, $"'{directory}' holds no helpful-base but one other subset: using {subset}.");
                }
            }
        }

        try
        {
            return level.Dataset(subset);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"Level {index + 1} ({level.Name}): {ex.Message}", ex);
        }
    }

    // The progression grows New-LLM models (layers, context); a checkpoint of another model has no place in it.
    private static NewLlmModel LoadNewLlm(string path)
    {
        LanguageModel model = CheckpointFile.LoadModel(path);
        if (model is NewLlmModel newLlm)
        {
            return newLlm;
        }

        model.Dispose();
        throw new InvalidDataException($"{path}: the checkpoint holds a {model.ModelType} model; the curriculum trains and grows New-LLM models only. Remove the file from the curriculum's output folder, or give another --output.");
    }

    // The previous level's best model, its vocabulary layers re-initialised when the ids change meaning, then deeper and wider as the level asks.
    private NewLlmModel StartingModel(int index, string previousBest, bool rebuild, int vocabularySize, TrainerOptions options)
    {
        CurriculumLevel level = _recipe.Levels[index];
        NewLlmModel model = LoadNewLlm(previousBest);
        var steps = new List<string>();
        if (rebuild)
        {
            using NewLlmModel trained = model;
            model = trained.WithFreshVocabulary(vocabularySize, _options.Seed);
            steps.Add("the embedding and output layer re-initialised for the rebuilt vocabulary");
        }

        if (level.Layers > model.Options.NumLayers)
        {
            steps.Add($"{model.Options.NumLayers} -> {level.Layers} layers (the new ones identity maps)");
            options.RunConfiguration["grown_from_layers"] = model.Options.NumLayers;
            using NewLlmModel shallow = model;
            model = shallow.AddLayers(level.Layers);
        }

        if (level.ContextSize > model.Options.ContextDim)
        {
            steps.Add($"context {model.Options.ContextDim} -> {level.ContextSize} ({_options.Expansion})");
            options.RunConfiguration["expanded_from_context"] = model.Options.ContextDim;
            options.RunConfiguration["expansion"] = _options.Expansion.ToString().ToLowerInvariant();
            using NewLlmModel narrow = model;
            model = narrow.ExpandContext(level.ContextSize, _options.Expansion);
        }

        Report(index, $"starting from {previousBest}{(steps.Count == 0 ? string.Empty : ": " + string.Join(", ", steps))}; a fresh optimizer.");
        return model;
    }

    // What `newllm train` records, so that evaluate, chat and train --resume read the level's checkpoints.
    private static void Record(TrainerOptions options, DialogueDataset set, string? directory, DialogueCorpus corpus, int sequenceLength, int? samples, double? unknownRate, string? previousBest, bool rebuild)
    {
        IDictionary<string, JsonNode?> run = options.RunConfiguration;
        run["dataset"] = set.Name;
        if (set.Subset is not null)
        {
            run["subset"] = set.Subset;
        }

        run["tokenizer"] = corpus.Tokenizer.Kind;
        run["max_seq_length"] = sequenceLength;
        if (samples is int limit)
        {
            run["max_samples"] = limit;
        }

        (set.Format as MathFormat)?.WriteTo(run);
        run["data"] = corpus.Description;
        run["data_dir"] = directory is null ? "hub" : Path.GetFullPath(directory);
        run["data_sha256"] = corpus.SourceChecksum;
        run["curriculum"] = true;
        if (unknownRate is double rate)
        {
            run["unknown_word_rate"] = rate;
        }

        if (previousBest is not null)
        {
            run["from_checkpoint"] = Path.GetFullPath(previousBest);
            run["vocabulary"] = rebuild ? "rebuilt" : "checkpoint";
        }
    }
}
