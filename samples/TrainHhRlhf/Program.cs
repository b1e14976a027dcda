// Trains New-LLM on Anthropic HH-RLHF with the command line of the original train_hh_rlhf.py.
//   dotnet run -c Release --project samples/TrainHhRlhf -- --subset harmless --num_layers 1 --epochs 6 --batch_size 64
//   dotnet run -c Release --project samples/TrainHhRlhf -- --resume checkpoints/new_llm_hh_rlhf_layers1_final.pt --epochs 10
using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;
using TorchSharp;

var numLayers = new Option<int>("--num_layers", "--num-layers") { Description = "Feed-forward layers (the original trained 1 and 4).", DefaultValueFactory = _ => 1 };
var maxSeqLength = new Option<int>("--max_seq_length", "--max-seq-length") { Description = "Tokens per dialogue (truncated or padded).", DefaultValueFactory = _ => 128 };
var subset = new Option<string>("--subset") { Description = "HH-RLHF subset: helpful, harmless, helpful-online, helpful-rejection-sampled or all (the Hub folder names, such as harmless-base, work too).", DefaultValueFactory = _ => "helpful" };
var epochs = new Option<int>("--epochs") { Description = "Total epochs (a resumed run trains the remaining ones).", DefaultValueFactory = _ => 100 };
var batchSize = new Option<int>("--batch_size", "--batch-size") { Description = "Sequences per batch.", DefaultValueFactory = _ => 2048 };
var learningRate = new Option<double>("--lr", "--learning_rate", "--learning-rate") { Description = "Learning rate.", DefaultValueFactory = _ => 0.0008 };
var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
var dataDir = new Option<string?>("--data-dir", "--data_dir") { Description = "A local copy laid out like the Hub repository (<dir>/<subset>/<split>.jsonl.gz); downloads from the Hub when absent." };
var tokenizerKind = new Option<string>("--tokenizer") { Description = "word (the original's 1000-word vocabulary) or gpt2.", DefaultValueFactory = _ => "word" };
tokenizerKind.AcceptOnlyFromAmong("word", "gpt2");
var output = new Option<string?>("--output") { Description = "Output directory (default: checkpoints, or the resumed checkpoint's directory)." };
var resume = new Option<string?>("--resume") { Description = "Continue from a checkpoint written by this program; the run's settings come from it (options given explicitly that differ are refused or applied with a note)." };
var overwrite = new Option<bool>("--overwrite") { Description = "Start a fresh run even if --output holds an earlier run's checkpoints and reports (they are deleted)." };
var checkpointEvery = new Option<CheckpointInterval>("--checkpoint-every") { Description = "A periodic checkpoint every N epochs (N or Nepochs) or every N optimizer steps (Nsteps, only the newest kept); 0 for none.", DefaultValueFactory = _ => new CheckpointInterval(5, 0), CustomParser = CheckpointInterval.Parse };
var seed = new Option<int>("--seed") { Description = "Random seed (initial weights, dropout, batch order).", DefaultValueFactory = _ => 42 };
var threads = new Option<int>("--threads") { Description = "CPU threads for torch (default: one per processor).", DefaultValueFactory = _ => Environment.ProcessorCount };
var preference = new Option<bool>("--preference-accuracy") { Description = "Also report the share of test pairs whose chosen reply is more likely than the rejected one." };

var root = new RootCommand("Train New-LLM on Anthropic HH-RLHF (the original train_hh_rlhf.py command line). Ctrl-C stops after the current step and saves a checkpoint to resume from.")
{
    numLayers, maxSeqLength, subset, epochs, batchSize, learningRate, device, dataDir, tokenizerKind, output, resume, overwrite, checkpointEvery, seed, threads, preference,
};

root.SetAction(async (parse, _) =>
{
    using var signals = new TerminationSignals();
    try
    {
        int code = await RunAsync(parse, signals.Token);
        return code == 130 ? signals.ExitCode : code;
    }
    catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
    {
        Console.Out.Flush();
        Console.Error.WriteLine("[Interrupted before training started: nothing to save]");
        return signals.ExitCode;
    }
    catch (Exception ex)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"error: {OneLine(ex)}");
        return 1;
    }
});

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message.ReplaceLineEndings(" ").TrimEnd('.') + "."))}{DidYouMean(root, parsed)} See --help.");
    return 1;
}

return await parsed.InvokeAsync();

async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
{
    TorchBackend.EnsureLoaded();
    if (parse.GetValue(threads) < 1)
    {
        throw new ArgumentException($"--threads must be at least 1, not {parse.GetValue(threads)}.");
    }

    torch.set_num_threads(parse.GetValue(threads));

    // A resumed run takes its settings from the checkpoint; options given explicitly either must agree (what the run
    // is: data, tokenizer, lengths, layers) or are applied with a note (how it goes on: epochs, learning rate, ...).
    string? resumePath = parse.GetValue(resume);
    if (resumePath is not null && parse.GetValue(overwrite))
    {
        throw new ArgumentException("--overwrite starts a fresh run over earlier results; it cannot be combined with --resume, which continues one. Leave one of them out.");
    }
    ResumePoint? from = resumePath is null ? null : ReadResumePoint(resumePath);
    var saved = from is null ? null : new CheckpointSettings(from.Settings);
    var changes = new List<string>();

    T Setting<T>(Option<T> option, object? saved, bool mustAgree, string why, Func<T, T>? canonical = null)
    {
        T given = canonical is null ? parse.GetValue(option)! : canonical(parse.GetValue(option)!);
        if (saved is not T savedValue)
        {
            return given;
        }

        if (IsImplicit(parse, option))
        {
            return savedValue;
        }

        if (EqualityComparer<T>.Default.Equals(given, savedValue))
        {
            return given;
        }

        if (mustAgree)
        {
            throw new ArgumentException($"{option.Name} {given} differs from the checkpoint's {savedValue}: {why}. Leave {option.Name} out to continue the run, or start a new run in another --output.");
        }

        changes.Add($"{option.Name} {savedValue} -> {given}");
        return given;
    }

    string subsetName = Setting(subset, saved?.GetString("subset") is string s ? CanonicalSubsetName(s) : null, mustAgree: true, "a resumed run trains on the same data", CanonicalSubsetName);
    HhRlhfSubset selected = HhRlhfLayout.ParseSubset(subsetName);
    int layers = Setting(numLayers, from?.Model.NumLayers, mustAgree: true, "the checkpoint's model has that many layers");
    int sequenceLength = Setting(maxSeqLength, saved?.Get<int>("max_seq_length"), mustAgree: true, "validation losses at different lengths cannot be compared, so 'best' would mean nothing");
    string kind = Setting(tokenizerKind, saved?.GetString("tokenizer"), mustAgree: true, "the model was trained on the checkpoint's vocabulary");
    int epochCount = Setting(epochs, saved?.Get<int>("epochs"), mustAgree: false, string.Empty);
    int batch = Setting(batchSize, saved?.Get<int>("batch_size"), mustAgree: from?.BatchesIntoEpoch > 0, "the checkpoint was saved in the middle of an epoch, whose remaining batches depend on the batch size");
    double rate = Setting(learningRate, saved?.Get<double>("learning_rate"), mustAgree: false, string.Empty);
    int runSeed = Setting(seed, saved?.Get<int>("seed"), mustAgree: false, string.Empty);
    CheckpointInterval savedInterval = saved is null ? default : new CheckpointInterval(saved.Get<int>("checkpoint_every_epochs") ?? 5, saved.Get<long>("checkpoint_every_steps") ?? 0);
    CheckpointInterval interval = Setting(checkpointEvery, saved is null ? null : savedInterval, mustAgree: false, string.Empty);
    string? savedDataDir = saved?.GetString("data_dir");
    string? directory = IsImplicit(parse, dataDir) && savedDataDir is not null ? (savedDataDir == "hub" ? null : savedDataDir) : parse.GetValue(dataDir);
    if (layers < 1)
    {
        throw new ArgumentException($"--num_layers must be at least 1 (the original used 1 or 4), not {layers}.");
    }

    if (sequenceLength < 2)
    {
        throw new ArgumentException($"--max_seq_length must be at least 2, not {sequenceLength}.");
    }

    // A run continues in its checkpoint's folder; one continued from the original Python trainer's checkpoint writes beside
    // it, in newllm/, so that the original's own files (named like this program's) are left as they are.
    string outputDirectory = parse.GetValue(output)
        ?? (resumePath is null ? "checkpoints"
            : from!.IsOriginal ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(resumePath))!, "newllm")
            : Path.GetDirectoryName(Path.GetFullPath(resumePath))!);
    var options = new TrainerOptions
    {
        ModelName = $"new_llm_hh_rlhf_layers{layers}",
        Epochs = epochCount,
        BatchSize = batch,
        LearningRate = rate,
        Device = parse.GetValue(device)!,
        Seed = runSeed,
        OutputDirectory = outputDirectory,
        CheckpointEveryEpochs = interval.Epochs,
        CheckpointEverySteps = interval.Steps,
        OverwriteOutput = parse.GetValue(overwrite),
    }.Validate();
    if (options.Device != "cpu" && !torch.cuda.is_available())
    {
        throw new ArgumentException($"--device {options.Device}: CUDA is not available here (this build of the sample uses the CPU backend TorchSharp-cpu, or no NVIDIA GPU and driver were found). Use --device cpu, or build with a CUDA backend (dotnet build -p:UseCuda=true on Windows).");
    }

    DeviceName.Resolve(options.Device); // an out-of-range cuda:N fails here, before loading data
    CheckOutputDirectory(options, resumePath);
    NewLlmOptions plannedModel = from?.Model ?? new NewLlmOptions
    {
        VocabSize = kind == "gpt2" ? Gpt2DialogueTokenizer.Create().VocabSize : WordLevelTokenizer.DefaultVocabularySize,
        NumLayers = layers,
    };
    if (TrainingMemoryEstimate.ForStep(plannedModel, batch, sequenceLength).CheckFits(options.Device) is string tooLarge)
    {
        throw new InsufficientMemoryException(tooLarge);
    }

    if (from is not null)
    {
        if (from.CompletedEpochs >= epochCount && from.BatchesIntoEpoch == 0)
        {
            Console.WriteLine($"Nothing to train: {resumePath} has completed {from.CompletedEpochs} of {epochCount} epochs. Pass --epochs with a larger total (for example --epochs {from.CompletedEpochs + 10}) to train further.");
            return 0;
        }

        Console.WriteLine(from.IsOriginal
            ? $"Resuming the original New-LLM checkpoint {Path.GetFileName(resumePath)}: {from.CompletedEpochs} epoch(s) completed; its model, Adam state, learning rate, sequence length and loss history carry over"
                + (changes.Count == 0 ? string.Empty : $" (except {string.Join(", ", changes)})")
                + $", its vocabulary is rebuilt from the training data (as the original does), the other settings come from the command line; writing to {outputDirectory}."
            : $"Resuming {Path.GetFileName(resumePath)}: {from.CompletedEpochs} epoch(s) completed, step {from.GlobalStep}; its settings are kept"
                + (changes.Count == 0 ? "." : $" except {string.Join(", ", changes)}."));
    }

    bool interactive = !Console.IsOutputRedirected;

    // Data: the subset's own files, from a local copy or the Hub.
    var downloadProgress = new ConsoleDownloadProgress(interactive);
    Console.WriteLine($"Loading HH-RLHF {subsetName} from {directory ?? "the Hugging Face Hub"}...");
    HhRlhfDataset train = directory is null
        ? await HhRlhfDataset.LoadFromHubAsync(selected, HhRlhfSplit.Train, progress: downloadProgress, cancellationToken: cancellationToken)
        : await HhRlhfDataset.LoadFromDirectoryAsync(directory, selected, HhRlhfSplit.Train, cancellationToken);
    HhRlhfDataset test = directory is null
        ? await HhRlhfDataset.LoadFromHubAsync(selected, HhRlhfSplit.Test, progress: downloadProgress, cancellationToken: cancellationToken)
        : await HhRlhfDataset.LoadFromDirectoryAsync(directory, selected, HhRlhfSplit.Test, cancellationToken);
    downloadProgress.Finish();
    if (train.Count == 0 || test.Count == 0)
    {
        throw new InvalidDataException($"The {subsetName} subset has {train.Count} train and {test.Count} test dialogues; both must be non-empty.");
    }

    if (saved?.GetString("data_sha256") is string savedChecksum && savedChecksum != train.SourceChecksum)
    {
        throw new InvalidDataException($"The training data ({train.SourceDescription}) are not the data {resumePath} was trained on (their SHA-256 differs from the checkpoint's): a resumed run must see the same rows. Point --data-dir at the checkpoint's data, or start a new run in another --output.");
    }

    // Tokenizer: the checkpoint's when resuming, otherwise built (word) or the packaged GPT-2 BPE.
    DialogueTokenizer tokenizer = resumePath is not null && !from!.IsOriginal
        ? CheckpointFile.LoadTokenizer(resumePath) ?? throw new InvalidDataException($"{resumePath}: the checkpoint holds no tokenizer, so the run cannot be resumed with the same vocabulary.")
        : kind == "gpt2" ? Gpt2DialogueTokenizer.Create() : WordLevelTokenizer.Build(train.GetNormalizedChosenTexts());
    if (from is { IsOriginal: true } && tokenizer.VocabSize != from.Model.VocabSize)
    {
        throw new InvalidDataException($"The vocabulary rebuilt from {train.SourceDescription} has {tokenizer.VocabSize} ids, but the model in {resumePath} has {from.Model.VocabSize}: the original checkpoint was trained on other data or another vocabulary size. Point --data-dir and --subset at the data it was trained on.");
    }

    var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = sequenceLength };
    string cache = Path.Combine(outputDirectory, "cache");
    TokenizedCorpus trainCorpus = await TokenizedCorpus.LoadOrBuildAsync(train, tokenizer, corpusOptions, cache, cancellationToken: cancellationToken);
    TokenizedCorpus testCorpus = await TokenizedCorpus.LoadOrBuildAsync(test, tokenizer, corpusOptions, cache, cancellationToken: cancellationToken);

    torch.random.manual_seed(runSeed);
    var model = new NewLlmModel(from?.Model ?? new NewLlmOptions { VocabSize = tokenizer.VocabSize, NumLayers = layers });
    options.RunConfiguration["subset"] = subsetName;
    options.RunConfiguration["tokenizer"] = tokenizer.Kind;
    options.RunConfiguration["max_seq_length"] = sequenceLength;
    options.RunConfiguration["data"] = train.SourceDescription;
    options.RunConfiguration["data_dir"] = directory is null ? "hub" : Path.GetFullPath(directory);
    options.RunConfiguration["data_sha256"] = train.SourceChecksum;

    TokenizedPreferencePairs? pairs = parse.GetValue(preference) ? TokenizedPreferencePairs.Build(test, tokenizer, corpusOptions) : null;
    using var trainer = new Trainer(model, trainCorpus, testCorpus, options, tokenizer, pairs, [new ConsoleReporter(), new DivergenceMonitor()], new ConsoleWarningLogger<Trainer>());

    if (resumePath is not null)
    {
        trainer.LoadCheckpoint(resumePath);
    }

    cancellationToken.ThrowIfCancellationRequested(); // a signal while the data were prepared: nothing trained, nothing to save
    TrainingResult result = await trainer.TrainAsync(cancellationToken);
    if (result.Outcome == TrainingOutcome.Cancelled)
    {
        // The console reporter has said where the interrupt checkpoint is and how to resume from it.
        return 130;
    }

    Console.WriteLine($"Reports: {ReportFiles.ProgressJson(options)}, {ReportFiles.MetricsCsv(options)}, {ReportFiles.CurvesPng(options)}");
    return 0;
}

// Where a resumed run starts: the checkpoint's settings, model sizes and progress, from this program's checkpoints or the
// original Python trainer's (which record only max_seq_length and num_layers, and no vocabulary); the errors a person
// typing --resume makes are said in the program's words.
static ResumePoint ReadResumePoint(string path)
{
    if (Directory.Exists(path))
    {
        string[] checkpoints = [.. Directory.EnumerateFiles(path, "*.pt").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        throw new ArgumentException($"--resume {path} is a folder; give a checkpoint file in it" + (checkpoints.Length == 0
            ? " (it holds none)."
            : $", for example {Trainer.FindLatestCheckpoint(path) ?? Path.Combine(path, checkpoints[0])}, the one that has trained furthest (it holds {string.Join(", ", checkpoints)})."));
    }

    if (!File.Exists(path))
    {
        throw new FileNotFoundException($"--resume {path}: there is no such file.");
    }

    if (CheckpointFile.IsOriginalCheckpoint(path))
    {
        using PyTorchCheckpoint original = PyTorchCheckpoint.Read(path);
        using NewLlmModel probe = NewLlmModel.FromPyTorch(path);
        var settings = new JsonObject { ["tokenizer"] = "word" }; // the original's vocabulary is always the word-level one
        if (original.Config.TryGetValue("max_seq_length", out object? length) && length is int or long)
        {
            settings["max_seq_length"] = Convert.ToInt32(length, CultureInfo.InvariantCulture);
        }

        if (original.Optimizer is { ParamGroups.Count: > 0 } adam)
        {
            settings["learning_rate"] = adam.ParamGroups[0].LearningRate;
        }

        int epochsDone = original.CurrentEpoch ?? Math.Max(original.TrainLosses.Count, original.ValLosses.Count);
        return new ResumePoint(settings, probe.Options, epochsDone, 0, 0, IsOriginal: true);
    }

    CheckpointManifest manifest = CheckpointFile.ReadManifest(path);
    return new ResumePoint(manifest.TrainerOptions, manifest.ModelOptions, manifest.State.CompletedEpochs, manifest.State.BatchesIntoEpoch, manifest.State.GlobalStep, IsOriginal: false);
}

// Refuses, before any data is prepared, an output directory that cannot be one, that another run uses, or that holds
// results this run would replace.
static void CheckOutputDirectory(TrainerOptions options, string? resumePath)
{
    string directory = Path.GetFullPath(options.OutputDirectory!);
    for (string? parent = directory; parent is not null; parent = Path.GetDirectoryName(parent))
    {
        if (File.Exists(parent))
        {
            throw new IOException($"--output {options.OutputDirectory}: '{parent}' is a file, so there can be no folder under it. Choose another --output.");
        }
    }

    if (OutputDirectoryLock.FindHolder(directory) is string holder)
    {
        throw new IOException($"--output {options.OutputDirectory} is in use by {holder}. Wait for that run to end, or choose another --output (if no run uses it, delete {Path.Combine(directory, OutputDirectoryLock.FileName)}).");
    }

    try
    {
        // Proves the folder (and the tokenized-data cache in it) can be written, before any data is prepared.
        OutputDirectoryLock.Acquire(directory).Dispose();
        Directory.CreateDirectory(Path.Combine(directory, "cache"));
    }
    catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
    {
        throw new IOException($"--output {options.OutputDirectory} cannot be written ({ex.Message}). Choose another --output, or make it writable.", ex);
    }

    bool continuesHere = resumePath is not null && Path.GetDirectoryName(Path.GetFullPath(resumePath)) == directory;
    IReadOnlyList<string> earlier = continuesHere || options.OverwriteOutput ? [] : Trainer.FindEarlierResults(options);
    if (earlier.Count > 0)
    {
        string? resumable = Trainer.FindLatestCheckpoint(directory, options.ModelName);
        throw new IOException($"--output {options.OutputDirectory} already holds the results of an earlier {options.ModelName} run ({string.Join(", ", earlier.Select(Path.GetFileName))}). "
            + (resumable is null ? string.Empty : $"Continue it with --resume {resumable}, replace ")
            + (resumable is null ? "Replace " : string.Empty) + "it with --overwrite, or choose another --output.");
    }
}

// The subset's name as this program records it (harmless, helpful, ...), from any name the library accepts
// (whatever the case, and the Hub's folder names such as harmless-base).
static string CanonicalSubsetName(string name) => HhRlhfLayout.TryParseSubset(name, out HhRlhfSubset subset)
    ? HhRlhfLayout.GetSubsetName(subset)
    : throw new ArgumentException($"--subset '{name}' is not an HH-RLHF subset: use {string.Join(", ", HhRlhfLayout.SubsetNames)} (or a Hub folder name such as harmless-base).");

// " Did you mean --epochs?" for an unknown option close to a real one (a prefix of it, or one letter off).
static string DidYouMean(RootCommand root, ParseResult parse)
{
    string[] names = [.. root.Options.SelectMany(o => o.Aliases.Prepend(o.Name))];
    foreach (string token in parse.UnmatchedTokens.Where(t => t.StartsWith("--", StringComparison.Ordinal)))
    {
        string? near = names.FirstOrDefault(n => n.StartsWith(token, StringComparison.OrdinalIgnoreCase) || token.StartsWith(n, StringComparison.OrdinalIgnoreCase))
            ?? names.FirstOrDefault(n => Math.Abs(n.Length - token.Length) <= 1 && n.Zip(token).Count(p => char.ToLowerInvariant(p.First) != char.ToLowerInvariant(p.Second)) <= 1);
        if (near is not null)
        {
            return $" Did you mean {near} instead of {token}?";
        }
    }

    return string.Empty;
}

static bool IsImplicit(ParseResult parse, Option option) => parse.GetResult(option) is null or { Implicit: true };

// One line, in the program's words: the library's option names become the command line's.
static string OneLine(Exception ex)
{
    string message = ex is OptionsValidationException validation ? string.Join(" ", validation.Failures) : ex.Message;
    (string Api, string Flag)[] names =
    [
        ("TrainerOptions.BatchSize", "--batch_size"), ("TrainerOptions.LearningRate", "--lr"), ("TrainerOptions.Epochs", "--epochs"),
        ("TrainerOptions.Device", "--device"), ("TrainerOptions.OutputDirectory", "--output"), ("TrainerOptions.Seed", "--seed"),
        ("TrainerOptions.CheckpointEveryEpochs", "--checkpoint-every"), ("TrainerOptions.CheckpointEverySteps", "--checkpoint-every"),
        ("TrainerOptions.OverwriteOutput", "--overwrite"), ("TokenizedCorpusOptions.MaxSequenceLength", "--max_seq_length"),
        ("HhRlhfDataset.LoadFromDirectoryAsync expects", "--data-dir expects"),
    ];
    foreach ((string api, string flag) in names)
    {
        message = message.Replace(api, flag, StringComparison.Ordinal);
    }

    return message.ReplaceLineEndings(" ").Trim();
}

/// <summary>What a resumed run starts from: the settings recorded, the model's sizes, how far it had trained.</summary>
internal sealed record ResumePoint(JsonObject Settings, NewLlmOptions Model, int CompletedEpochs, int BatchesIntoEpoch, long GlobalStep, bool IsOriginal);
