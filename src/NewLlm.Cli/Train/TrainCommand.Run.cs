using TorchSharp;

namespace NewLlm.Cli;

/// <summary><c>newllm train</c>'s run: settings, checks, data, model and trainer (the options are in TrainCommand.cs).</summary>
internal sealed partial class TrainCommand
{
    /// <summary>Trains; returns 0 when done (or nothing was left to train), 130 when a signal stopped the run.</summary>
    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        TorchBackend.EnsureLoaded();
        int threads = parse.GetValue(Threads);
        if (threads < 1)
        {
            throw new ArgumentException($"--threads must be at least 1, not {threads}.");
        }

        torch.set_num_threads(threads);
        string? resumePath = parse.GetValue(Resume);
        string? fromPath = parse.GetValue(From);
        if (parse.GetValue(ModelKind) == ModelChoice.Transformer)
        {
            ModelChoice.RefuseOptionsOfTheOther(parse, this, transformer: true); // before the New-LLM options' own checks
        }

        if (resumePath is not null && fromPath is not null)
        {
            throw new ArgumentException("--resume continues a run and --from starts a new one from a checkpoint's weights; give one of them.");
        }

        if (resumePath is not null && parse.GetValue(Overwrite))
        {
            throw new ArgumentException("--overwrite starts a fresh run over earlier results; it cannot be combined with --resume, which continues one. Leave one of them out.");
        }

        if (fromPath is null && !CommandLine.IsImplicit(parse, Vocabulary))
        {
            throw new ArgumentException("--vocabulary chooses the vocabulary of a run started --from a checkpoint; without --from, a new run builds its own and a resumed run keeps its checkpoint's.");
        }

        int? widerContext = parse.GetValue(ExpandContext);
        if (widerContext is not null && fromPath is null)
        {
            throw new ArgumentException($"--expand-context widens a trained model: give the checkpoint with --from (a new run from its weights, with a fresh optimizer), for example --from checkpoints/new_llm_hh_rlhf_layers1_final.pt --expand-context {widerContext}.");
        }

        if (widerContext is null && (!CommandLine.IsImplicit(parse, Expansion) || parse.GetValue(FreezeBaseDims)))
        {
            throw new ArgumentException("--expansion and --freeze-base-dims go with --expand-context N.");
        }

        // A resumed run takes its settings from the checkpoint (see ResumedSettings); a run --from a checkpoint takes the
        // checkpoint's recipe (lengths, batch, rate, seed, tokenizer) as defaults and its model as the starting point.
        ResumePoint? point = resumePath is not null ? ResumePoint.Read(resumePath, "--resume") : fromPath is not null ? ResumePoint.Read(fromPath, "--from") : null;
        var settings = new ResumedSettings(parse);
        bool transformer = ModelChoice.IsTransformer(parse, this, point, resumePath);
        bool resuming = resumePath is not null;
        bool original = point is { IsOriginal: true };

        // What the run trains on: the set (and subset), where its files are, how many rows.
        // --from without --dataset goes on with the checkpoint's set (to widen its context, say); a checkpoint that records a
        // subset but no set is HH-RLHF's (written before the sets were one command); the original's record neither.
        string? savedDatasetName = point?.GetString("dataset") ?? (point?.GetString("subset") is null ? null : "hh-rlhf");
        if (resuming && !original && savedDatasetName is null)
        {
            throw new ArgumentException($"--resume {resumePath}: the checkpoint records no data set, so it was not written by newllm train. Start a new run from its weights with --from {resumePath} --dataset NAME.");
        }

        string datasetName = CommandLine.IsImplicit(parse, Dataset) && savedDatasetName is not null ? savedDatasetName : parse.GetValue(Dataset)!;
        string? subsetName = parse.GetValue(Subset) ?? (point is not null && CommandLine.IsImplicit(parse, Dataset) ? point.GetString("subset") : null);
        DialogueDataset set = ParseDataset(datasetName, subsetName, parse.GetValue(TextField), parse.GetValue(MessagesField));
        set = MathFilterOptions.Apply(
            set,
            settings.Get(MathLevels, MathFilterOptions.Saved(point, savedDatasetName, set, "math_levels"), mustAgree: resuming, "a resumed run trains on the same rows"),
            settings.Get(MathTypes, MathFilterOptions.Saved(point, savedDatasetName, set, "math_types"), mustAgree: resuming, "a resumed run trains on the same rows"));
        if (resuming && savedDatasetName is not null && (set.Name != savedDatasetName || set.Subset != point!.GetString("subset")))
        {
            string was = DialogueDataset.Parse(savedDatasetName, savedDatasetName == "hh-rlhf" ? point!.GetString("subset") : null).DisplayName;
            throw new ArgumentException($"--resume {resumePath} continues a run on {was}, not {set.DisplayName}. To train its model on {set.DisplayName} as the next level, start a new run from it: --from {resumePath} --dataset {datasetName}{(subsetName is null ? string.Empty : $" --subset {subsetName}")}.");
        }

        bool preferenceAccuracy = parse.GetValue(PreferenceAccuracy);
        if (preferenceAccuracy && set.Name != "hh-rlhf")
        {
            throw new ArgumentException($"--preference-accuracy compares HH-RLHF's chosen and rejected replies; {set.DisplayName} has no such pairs. Leave it out.");
        }

        // A resumed run, or a run --from a checkpoint of the same set (a wider context, say), reads the checkpoint's data folder unless told otherwise.
        bool sameSet = point is not null && savedDatasetName == set.Name && point.GetString("subset") == set.Subset;
        string? savedDataDir = resuming || sameSet ? point!.GetString("data_dir") : null;
        string? directory = CommandLine.IsImplicit(parse, DataDir) && savedDataDir is not null ? (savedDataDir == "hub" ? null : savedDataDir) : parse.GetValue(DataDir);
        if (directory is null && set.HubRepositoryId is null)
        {
            throw new ArgumentException($"--dataset {set.Name} reads your own files: give --data-dir with a .jsonl (or .jsonl.gz) file, or a folder with train.jsonl and test.jsonl.");
        }

        bool recipeFromCheckpoint = point is not null; // --resume keeps it, --from starts from it
        int? samples = settings.Get(MaxSamples, resuming || sameSet ? point!.Get<int>("max_samples") : null, mustAgree: resuming, "a resumed run trains on the same rows");
        int layers = settings.Get(NumLayers, point?.NumLayers, mustAgree: fromPath is null, "the checkpoint's model has that many layers (a new run --from it with more adds layers)"); // --from: more grow it
        if (fromPath is not null && layers < point!.NumLayers)
        {
            throw new ArgumentException($"--num_layers {layers}: the model in {fromPath} has {point.NumLayers} layers; --from can add layers (they start as identity maps) but not remove them. Give --num_layers {point.NumLayers} or more, or leave it out.");
        }

        int? heads = transformer ? settings.Get(NumHeads, point?.Baseline?.NumHeads, mustAgree: true, "the checkpoint's model has that many heads") : null;
        if (resuming && point!.Baseline is { } savedBaseline && parse.GetValue(MatchParamsOf) is string givenMatch)
        {
            ModelChoice.RefuseChangedMatch(givenMatch, savedBaseline, resumePath!);
        }

        int context = settings.Get(ContextDim, point?.Model?.ContextDim, mustAgree: true, "the checkpoint's model has that context size (--expand-context with --from widens it)");
        int sequenceLength = settings.Get(MaxSeqLength, recipeFromCheckpoint ? point!.Get<int>("max_seq_length") : null, mustAgree: resuming, "validation losses at different lengths cannot be compared, so 'best' would mean nothing");
        string kind = settings.Get(TokenizerKind, recipeFromCheckpoint ? point!.GetString("tokenizer") : null, mustAgree: true, "the model was trained on the checkpoint's kind of vocabulary");
        if (set.KeepsWhitespace && kind == "word")
        {
            Console.Error.WriteLine($"warning: {set.DisplayName} keeps its newlines and indentation (code, LaTeX), which the word-level tokenizer drops (it splits on whitespace); --tokenizer gpt2 keeps them.");
        }

        int epochCount = settings.Get(Epochs, parse.GetValue(Epochs) ?? set.DefaultEpochs, resuming ? point!.Get<int>("epochs") : null, mustAgree: false, string.Empty);
        int batch = settings.Get(BatchSize, recipeFromCheckpoint ? point!.Get<int>("batch_size") : null, mustAgree: resuming && point!.BatchesIntoEpoch > 0, "the checkpoint was saved in the middle of an epoch, whose remaining batches depend on the batch size");
        double rate = settings.Get(LearningRate, recipeFromCheckpoint ? point!.Get<double>("learning_rate") : null, mustAgree: false, string.Empty);
        int runSeed = settings.Get(Seed, recipeFromCheckpoint ? point!.Get<int>("seed") : null, mustAgree: false, string.Empty);
        string runPrecision = settings.Get(Precision, recipeFromCheckpoint ? PrecisionOption.FromCheckpoint(point!.GetString("precision")) : null, mustAgree: false, string.Empty);
        CheckpointInterval interval = settings.Get(CheckpointEvery, resuming && !original ? (object)new CheckpointInterval(point!.Get<int>("checkpoint_every_epochs") ?? 5, point.Get<long>("checkpoint_every_steps") ?? 0) : null, mustAgree: false, string.Empty);
        if (layers < 1)
        {
            throw new ArgumentException($"--num_layers must be at least 1 (the original used 1 or 4), not {layers}.");
        }

        if (sequenceLength < 2)
        {
            throw new ArgumentException($"--max_seq_length must be at least 2, not {sequenceLength}.");
        }

        bool rebuildVocabulary = fromPath is not null && (parse.GetValue(Vocabulary) == "rebuild" || (original && CommandLine.IsImplicit(parse, Vocabulary)));
        if (fromPath is not null && original && !rebuildVocabulary)
        {
            throw new ArgumentException($"--from {fromPath} is the original Python trainer's checkpoint, which holds no vocabulary: use --vocabulary rebuild (as the original does at each level).");
        }

        string outputDirectory = parse.GetValue(Output)
            ?? (resumePath is not null ? (original ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(resumePath))!, "newllm") : Path.GetDirectoryName(Path.GetFullPath(resumePath))!)
                : fromPath is not null ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(fromPath))!, set.Name)
                : "checkpoints");
        var options = new TrainerOptions
        {
            ModelName = transformer
                ? $"{(set.ModelName.StartsWith("new_llm", StringComparison.Ordinal) ? "transformer" + set.ModelName["new_llm".Length..] : "transformer_" + set.ModelName)}_layers{layers}"
                : $"{set.ModelName}_layers{layers}" + ((widerContext ?? context) is int size && size != new NewLlmOptions().ContextDim ? $"_context{size}" : string.Empty),
            Epochs = epochCount,
            BatchSize = batch,
            LearningRate = rate,
            Device = parse.GetValue(Device)!,
            Seed = runSeed,
            Precision = PrecisionOption.ToPrecision(runPrecision),
            AllowSlowBFloat16 = parse.GetValue(AllowSlowBFloat16),
            OutputDirectory = outputDirectory,
            CheckpointEveryEpochs = interval.Epochs,
            CheckpointEverySteps = interval.Steps,
            OverwriteOutput = parse.GetValue(Overwrite),
        }.Validate();
        if (widerContext is int wider && wider <= point!.Model!.ContextDim)
        {
            throw new ArgumentException($"--expand-context {wider}: the model in {fromPath} already has a context of {point.Model.ContextDim}; give a larger size (for example {2 * point.Model.ContextDim}).");
        }

        string? matchParamsOf = parse.GetValue(MatchParamsOf);
        TransformerBaselineOptions BaselineFor(int vocabSize) => point?.Baseline?.Clone()
            ?? ModelChoice.Baseline(vocabSize, layers, heads, sequenceLength, matchParamsOf, layersGiven: !CommandLine.IsImplicit(parse, NumLayers));
        NewLlmOptions plannedModel = point?.Model ?? new NewLlmOptions
        {
            VocabSize = kind == "gpt2" ? Gpt2DialogueTokenizer.Create().VocabSize : WordLevelTokenizer.DefaultVocabularySize,
            NumLayers = layers,
            ContextDim = context,
        };
        if (widerContext is not null || layers != plannedModel.NumLayers)
        {
            plannedModel = plannedModel.Clone();
            plannedModel.ContextDim = widerContext ?? plannedModel.ContextDim;
            plannedModel.NumLayers = layers;
        }

        // What the checkpoint must hold, and whether there is anything to do, is settled before --output is touched.
        if (point is { IsOriginal: false, Tokenizer: null } && (resuming || !rebuildVocabulary))
        {
            throw new InvalidDataException(resuming
                ? $"{resumePath}: the checkpoint holds no tokenizer, so the run cannot be resumed with the same vocabulary."
                : $"{fromPath}: the checkpoint holds no tokenizer; use --vocabulary rebuild.");
        }

        if (resuming && point!.CompletedEpochs >= epochCount && point.BatchesIntoEpoch == 0)
        {
            Console.WriteLine($"Nothing to train: {resumePath} has completed {point.CompletedEpochs} of {epochCount} epochs. Pass --epochs with a larger total (for example --epochs {point.CompletedEpochs + 10}) to train further.");
            return 0;
        }

        TrainingMemoryEstimate plannedStep = transformer
            ? TrainingMemoryEstimate.ForStep(BaselineFor(plannedModel.VocabSize), options.BatchSize, sequenceLength, torch.ScalarType.Float32, options.Precision)
            : TrainingMemoryEstimate.ForStep(plannedModel, options.BatchSize, sequenceLength, precision: options.Precision);
        RunChecks.BeforeData(options, resumePath, plannedStep);
        string changed = settings.Changes.Count == 0 ? string.Empty : $" except {string.Join(", ", settings.Changes)}";
        if (resuming)
        {
            Console.WriteLine(original
                ? $"Resuming the original New-LLM checkpoint {Path.GetFileName(resumePath)}: {point!.CompletedEpochs} epoch(s) completed; its model, Adam state, learning rate, sequence length and loss history carry over{changed}, its vocabulary is rebuilt from the training data (as the original does); writing to {outputDirectory}."
                : $"Resuming {Path.GetFileName(resumePath)}: {point!.CompletedEpochs} epoch(s) completed, step {point.GlobalStep}; its settings are kept{(changed.Length == 0 ? "." : changed + ".")}");
        }
        else if (fromPath is not null)
        {
            Console.WriteLine($"Starting a {set.DisplayName} run from the weights of {Path.GetFileName(fromPath)} ({point!.CompletedEpochs} epoch(s) trained) with a fresh optimizer and {(rebuildVocabulary ? "a vocabulary rebuilt from the new data (the embedding and output layer start anew)" : "its vocabulary")}; its sequence length, batch size, learning rate, seed and precision ({PrecisionOption.FromCheckpoint(point!.GetString("precision")) ?? "fp32"}) are kept{changed}; writing to {outputDirectory}.");
        }

        string? createdFolder = RunChecks.OutermostMissingFolder(Path.Combine(outputDirectory, "cache"));

        // Data: the set's files from a local copy or the Hub, split, encoded into the Arrow cache (read memory-mapped).
        var progress = new ConsoleProgress(interactive: !Console.IsOutputRedirected);
        Console.WriteLine($"Loading {set.DisplayName} from {directory ?? "the Hugging Face Hub"}...");
        DialogueSource source = directory is null
            ? await DialogueSource.FromHubAsync(set, progress: progress, cancellationToken: cancellationToken) // retries are reported through the progress
            : await DialogueSource.FromDirectoryAsync(set, directory, cancellationToken);
        progress.Finish();

        // The checkpoint's was read (and required) with it, above; GPT-2's is the same for every set: "rebuild" changes nothing.
        DialogueTokenizer? givenTokenizer = (resuming && !original) || (fromPath is not null && !rebuildVocabulary) ? point!.Tokenizer!
            : kind == "gpt2" ? Gpt2DialogueTokenizer.Create()
            : null;

        var corpusOptions = new DialogueCorpusOptions
        {
            MaxSequenceLength = sequenceLength,
            MaxSamples = samples,
            VocabularySize = point?.VocabSize ?? WordLevelTokenizer.DefaultVocabularySize,
            MaxDegreeOfParallelism = parse.GetValue(Threads),
        };
        using DialogueCorpus corpus = await DialogueCorpus.LoadAsync(
            source, Path.Combine(outputDirectory, "cache"), corpusOptions, givenTokenizer, new ConsoleWarningLogger<DialogueCorpus>(), progress, cancellationToken);
        progress.Finish();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Data: {corpus.Train.Count:N0} training and {corpus.Test.Count:N0} test dialogues of {corpus.Description}."));
        if (corpus.Coverage is VocabularyCoverage coverage && !resuming)
        {
            Console.WriteLine(givenTokenizer is null
                ? string.Create(CultureInfo.InvariantCulture, $"Vocabulary: {corpus.Tokenizer.VocabSize:N0} ids built from the training rows; {coverage.UnknownRate * 100:F1}% of their words are unknown (<unk>).")
                : string.Create(CultureInfo.InvariantCulture, $"Vocabulary: the checkpoint's {corpus.Tokenizer.VocabSize:N0} ids leave {coverage.UnknownRate * 100:F1}% of the new set's words unknown (<unk>); one rebuilt from it (--vocabulary rebuild) would leave {coverage.RebuiltUnknownRate * 100:F1}%."));
        }

        // A run refused once the data are read leaves no folder behind: the cache this run created is removed.
        string? refusal = resuming && point!.GetString("data_sha256") is string savedChecksum && savedChecksum != corpus.SourceChecksum
            ? $"The training data ({corpus.Description}) are not the data {resumePath} was trained on (their SHA-256 differs from the checkpoint's): a resumed run must see the same rows. Point --data-dir at the checkpoint's data, or start a new run from it with --from."
            : original && corpus.Tokenizer.VocabSize != point!.VocabSize
            ? $"The vocabulary rebuilt from {corpus.Description} has {corpus.Tokenizer.VocabSize} ids, but the model in {resumePath ?? fromPath} has {point.VocabSize}: the original checkpoint was trained with another vocabulary size."
            : null;

        if (refusal is not null)
        {
            corpus.Dispose();
            if (createdFolder is not null)
            {
                Directory.Delete(createdFolder, recursive: true);
            }

            throw new InvalidDataException(refusal);
        }

        torch.random.manual_seed(runSeed);
        TransformerBaselineOptions? baseline = transformer ? BaselineFor(corpus.Tokenizer.VocabSize) : null;
        if (baseline is not null && matchParamsOf is not null && !resuming)
        {
            Console.WriteLine(ModelChoice.MatchReport(matchParamsOf, baseline));
        }

        NewLlmModel? newLlm = transformer ? null
            : fromPath is not null ? StartingModel(fromPath, rebuildVocabulary && kind == "word" ? corpus.Tokenizer.VocabSize : null, runSeed)
            : new NewLlmModel(point?.Model ?? new NewLlmOptions { VocabSize = corpus.Tokenizer.VocabSize, NumLayers = layers, ContextDim = context });
        options.RunConfiguration["dataset"] = set.Name;
        if (set.Subset is not null)
        {
            options.RunConfiguration["subset"] = set.Subset;
        }

        (set.Format as MathFormat)?.WriteTo(options.RunConfiguration);

        options.RunConfiguration["tokenizer"] = corpus.Tokenizer.Kind;
        options.RunConfiguration["max_seq_length"] = sequenceLength;
        if (samples is int limit)
        {
            options.RunConfiguration["max_samples"] = limit;
        }

        options.RunConfiguration["data"] = corpus.Description;
        options.RunConfiguration["data_dir"] = directory is null ? "hub" : Path.GetFullPath(directory);
        options.RunConfiguration["data_sha256"] = corpus.SourceChecksum;
        if (fromPath is not null)
        {
            options.RunConfiguration["from_checkpoint"] = Path.GetFullPath(fromPath);
            options.RunConfiguration["vocabulary"] = rebuildVocabulary ? "rebuilt" : "checkpoint";
        }
        else if (resuming && point!.GetString("from_checkpoint") is string earlierFrom)
        {
            options.RunConfiguration["from_checkpoint"] = earlierFrom;
            options.RunConfiguration["vocabulary"] = point.GetString("vocabulary");
        }

        var callbacks = new List<ITrainerCallback> { new ConsoleReporter(), new DivergenceMonitor(), new TrainingCurvesPlotter() };
        if (Console.IsOutputRedirected)
        {
            callbacks.Add(new TrainingProgressReporter(progress)); // on a terminal the console reporter's live counter shows it
        }

        string ValidationPerplexity() => Evaluator.Evaluate(newLlm!, corpus.Test, batch, cancellationToken: cancellationToken).Perplexity.ToString("F2", CultureInfo.InvariantCulture);
        if (widerContext is int newSize)
        {
            int oldSize = newLlm!.Options.ContextDim;
            var method = parse.GetValue(Expansion) == "replicate" ? ContextExpansion.Replicate : ContextExpansion.Original;
            Console.WriteLine($"Validation before expansion (context {oldSize}): PPL {ValidationPerplexity()}");
            NewLlmModel expanded = newLlm.ExpandContext(newSize, method);
            newLlm.Dispose();
            newLlm = expanded;
            Console.WriteLine($"Validation after expansion to {newSize} ({parse.GetValue(Expansion)}): PPL {ValidationPerplexity()}");
            options.RunConfiguration["expanded_from_context"] = oldSize;
            options.RunConfiguration["expansion"] = parse.GetValue(Expansion);
            if (parse.GetValue(FreezeBaseDims))
            {
                callbacks.Add(new FreezeBaseContextDimensions(oldSize));
                options.RunConfiguration["freeze_base_dims"] = true;
            }
        }
        else if (resuming && point!.Get<int>("expanded_from_context") is int expandedFrom)
        {
            // A resumed run of an expansion records it as it was, and freezes as it did.
            foreach (string key in new[] { "expanded_from_context", "expansion", "freeze_base_dims" })
            {
                if (point!.Settings[key] is { } value)
                {
                    options.RunConfiguration[key] = value.DeepClone();
                }
            }

            if (point.Get<bool>("freeze_base_dims") == true)
            {
                callbacks.Add(new FreezeBaseContextDimensions(expandedFrom));
            }
        }

        if (newLlm is not null && layers > newLlm.Options.NumLayers)
        {
            int oldLayers = newLlm.Options.NumLayers;
            Console.WriteLine($"Validation before growth ({oldLayers} layer(s)): PPL {ValidationPerplexity()}");
            NewLlmModel deeper = newLlm.AddLayers(layers);
            newLlm.Dispose();
            newLlm = deeper;
            Console.WriteLine($"Validation after growth to {layers} layers (the new ones identity maps): PPL {ValidationPerplexity()}");
            options.RunConfiguration["grown_from_layers"] = oldLayers;
        }
        else if (resuming && point!.Settings["grown_from_layers"] is { } grownFrom)
        {
            options.RunConfiguration["grown_from_layers"] = grownFrom.DeepClone(); // a resumed run records its growth as it was
        }

        LanguageModel model = newLlm is not null ? newLlm : new TransformerBaselineModel(baseline!);
        TokenizedPreferencePairs? pairs = preferenceAccuracy ? await PreferencePairsAsync(set, directory, corpus.Tokenizer, sequenceLength, cancellationToken) : null;
        using var trainer = new Trainer(model, corpus.Train, corpus.Test, options, corpus.Tokenizer, pairs, callbacks, new ConsoleWarningLogger<Trainer>());
        if (resuming)
        {
            trainer.LoadCheckpoint(resumePath!);
        }

        cancellationToken.ThrowIfCancellationRequested(); // a signal while the data were prepared: nothing trained, nothing to save
        TrainingResult result = await trainer.TrainAsync(cancellationToken);
        if (result.Outcome == TrainingOutcome.Cancelled)
        {
            return 130; // the console reporter has said where the interrupt checkpoint is and how to resume from it
        }

        Console.WriteLine($"Reports: {RunDirectory.ProgressJson(options)}, {RunDirectory.MetricsCsv(options)}, {RunDirectory.CurvesPng(options)}");
        Console.WriteLine(RunFigures.Line(result, corpus.Train));
        return 0;
    }

    // HH-RLHF's test pairs (the chosen and the rejected reply), for --preference-accuracy.
    private static async Task<TokenizedPreferencePairs> PreferencePairsAsync(DialogueDataset set, string? directory, DialogueTokenizer tokenizer, int sequenceLength, CancellationToken cancellationToken)
    {
        HhRlhfSubset subset = HhRlhfLayout.ParseSubset(set.Subset!);
        HhRlhfDataset test = directory is null
            ? await HhRlhfDataset.LoadFromHubAsync(subset, HhRlhfSplit.Test, cancellationToken: cancellationToken)
            : await HhRlhfDataset.LoadFromDirectoryAsync(directory, subset, HhRlhfSplit.Test, cancellationToken);
        return TokenizedPreferencePairs.Build(test, tokenizer, new TokenizedCorpusOptions { MaxSequenceLength = sequenceLength });
    }

    // The set a command line names, with the options only some sets take refused for the others.
    private static DialogueDataset ParseDataset(string name, string? subsetName, string? textFieldName, string? messagesFieldName)
    {
        DialogueDataset set = Parse("--dataset", null);
        if (subsetName is not null)
        {
            set = set.Name == "hh-rlhf"
                ? Parse("--subset", subsetName)
                : throw new ArgumentException($"--subset is only for --dataset hh-rlhf; {set.DisplayName} has no subsets. Leave --subset out.");
        }

        if (textFieldName is null && messagesFieldName is null)
        {
            return set;
        }

        if (set.Name != "jsonl")
        {
            throw new ArgumentException($"--text-field and --messages-field are for --dataset jsonl; {set.DisplayName} has its own fields. Leave them out.");
        }

        if (textFieldName is not null && messagesFieldName is not null)
        {
            throw new ArgumentException("Give --text-field or --messages-field, not both: a row is trained on one of them.");
        }

        return DialogueDataset.JsonLines(textFieldName is not null ? new TextFieldFormat(textFieldName) : new ChatMessagesFormat(messagesFieldName!));

        // The library's error, under the name of the option whose value it refuses.
        DialogueDataset Parse(string option, string? subset)
        {
            try
            {
                return DialogueDataset.Parse(name, subset);
            }
            catch (FormatException ex)
            {
                throw new ArgumentException($"{option} {ex.Message}", ex);
            }
        }
    }

    // The model a run --from a checkpoint starts with: its weights, or with a rebuilt vocabulary (whose ids mean other words)
    // its weights but for the embedding and the output layer, which start anew for the new vocabulary's size.
    private static NewLlmModel StartingModel(string path, int? freshVocabularySize, int seed)
    {
        NewLlmModel trained = (NewLlmModel)CheckpointFile.LoadModel(path); // ModelChoice refuses --from a baseline's checkpoint
        if (freshVocabularySize is not int size)
        {
            return trained;
        }

        using (trained)
        {
            return trained.WithFreshVocabulary(size, seed);
        }
    }
}
