// Trains New-LLM on Anthropic HH-RLHF with the command line of the original train_hh_rlhf.py.
//   dotnet run -c Release --project samples/TrainHhRlhf -- --subset harmless --num_layers 1 --epochs 6 --batch_size 64
//   dotnet run -c Release --project samples/TrainHhRlhf -- --resume checkpoints/new_llm_hh_rlhf_layers1_final.pt --epochs 10
using System.CommandLine;
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
var precision = PrecisionOption.Create();
var allowSlowBFloat16 = PrecisionOption.CreateAllowSlow();
var preference = new Option<bool>("--preference-accuracy") { Description = "Also report the share of test pairs whose chosen reply is more likely than the rejected one." };

var root = new RootCommand("Train New-LLM on Anthropic HH-RLHF (the original train_hh_rlhf.py command line). Ctrl-C stops after the current step and saves a checkpoint to resume from.")
{
    numLayers, maxSeqLength, subset, epochs, batchSize, learningRate, device, dataDir, tokenizerKind, output, resume, overwrite, checkpointEvery, seed, threads, precision, allowSlowBFloat16, preference,
};

return await SampleProgram.InvokeAsync(root, args, RunAsync);

async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
{
    RunChecks.LoadTorch(parse.GetValue(threads));

    // A resumed run takes its settings from the checkpoint; options given explicitly either must agree (what the run
    // is: data, tokenizer, lengths, layers) or are applied with a note (how it goes on: epochs, learning rate, ...).
    string? resumePath = parse.GetValue(resume);
    if (resumePath is not null && parse.GetValue(overwrite))
    {
        throw new ArgumentException("--overwrite starts a fresh run over earlier results; it cannot be combined with --resume, which continues one. Leave one of them out.");
    }
    ResumePoint? from = resumePath is null ? null : ResumePoint.Read(resumePath);
    if (from is { IsOriginal: false, Tokenizer: null })
    {
        throw new InvalidDataException($"{resumePath}: the checkpoint holds no tokenizer, so the run cannot be resumed with the same vocabulary.");
    }

    var saved = from is null ? null : new CheckpointSettings(from.Settings);
    var settings = new ResumedSettings(parse);
    string subsetName = settings.Get(subset, CanonicalSubsetName(parse.GetValue(subset)!), saved?.GetString("subset") is string s ? CanonicalSubsetName(s) : null, mustAgree: true, "a resumed run trains on the same data");
    HhRlhfSubset selected = HhRlhfLayout.ParseSubset(subsetName);
    int layers = settings.Get(numLayers, from?.Model.NumLayers, mustAgree: true, "the checkpoint's model has that many layers");
    int sequenceLength = settings.Get(maxSeqLength, saved?.Get<int>("max_seq_length"), mustAgree: true, "validation losses at different lengths cannot be compared, so 'best' would mean nothing");
    string kind = settings.Get(tokenizerKind, saved?.GetString("tokenizer"), mustAgree: true, "the model was trained on the checkpoint's vocabulary");
    int epochCount = settings.Get(epochs, saved?.Get<int>("epochs"), mustAgree: false, string.Empty);
    int batch = settings.Get(batchSize, saved?.Get<int>("batch_size"), mustAgree: from?.BatchesIntoEpoch > 0, "the checkpoint was saved in the middle of an epoch, whose remaining batches depend on the batch size");
    double rate = settings.Get(learningRate, saved?.Get<double>("learning_rate"), mustAgree: false, string.Empty);
    int runSeed = settings.Get(seed, saved?.Get<int>("seed"), mustAgree: false, string.Empty);
    string runPrecision = settings.Get(precision, PrecisionOption.FromCheckpoint(saved?.GetString("precision")), mustAgree: false, string.Empty);
    CheckpointInterval savedInterval = saved is null ? default : new CheckpointInterval(saved.Get<int>("checkpoint_every_epochs") ?? 5, saved.Get<long>("checkpoint_every_steps") ?? 0);
    CheckpointInterval interval = settings.Get(checkpointEvery, saved is null ? null : savedInterval, mustAgree: false, string.Empty);
    string? savedDataDir = saved?.GetString("data_dir");
    string? directory = SampleProgram.IsImplicit(parse, dataDir) && savedDataDir is not null ? (savedDataDir == "hub" ? null : savedDataDir) : parse.GetValue(dataDir);
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
        Precision = PrecisionOption.ToPrecision(runPrecision),
        AllowSlowBFloat16 = parse.GetValue(allowSlowBFloat16),
        OutputDirectory = outputDirectory,
        CheckpointEveryEpochs = interval.Epochs,
        CheckpointEverySteps = interval.Steps,
        OverwriteOutput = parse.GetValue(overwrite),
    }.Validate();
    NewLlmOptions plannedModel = from?.Model ?? new NewLlmOptions
    {
        VocabSize = kind == "gpt2" ? Gpt2DialogueTokenizer.Create().VocabSize : WordLevelTokenizer.DefaultVocabularySize,
        NumLayers = layers,
    };
    if (from is not null && from.CompletedEpochs >= epochCount && from.BatchesIntoEpoch == 0)
    {
        Console.WriteLine($"Nothing to train: {resumePath} has completed {from.CompletedEpochs} of {epochCount} epochs. Pass --epochs with a larger total (for example --epochs {from.CompletedEpochs + 10}) to train further.");
        return 0;
    }

    RunChecks.BeforeData(options, resumePath, plannedModel, sequenceLength);

    if (from is not null)
    {
        Console.WriteLine(from.IsOriginal
            ? $"Resuming the original New-LLM checkpoint {Path.GetFileName(resumePath)}: {from.CompletedEpochs} epoch(s) completed; its model, Adam state, learning rate, sequence length and loss history carry over"
                + (settings.Changes.Count == 0 ? string.Empty : $" (except {string.Join(", ", settings.Changes)})")
                + $", its vocabulary is rebuilt from the training data (as the original does), the other settings come from the command line; writing to {outputDirectory}."
            : $"Resuming {Path.GetFileName(resumePath)}: {from.CompletedEpochs} epoch(s) completed, step {from.GlobalStep}; its settings are kept"
                + (settings.Changes.Count == 0 ? "." : $" except {string.Join(", ", settings.Changes)}."));
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
    DialogueTokenizer tokenizer = from is { IsOriginal: false, Tokenizer: DialogueTokenizer checkpointTokenizer }
        ? checkpointTokenizer
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

    Console.WriteLine($"Reports: {RunDirectory.ProgressJson(options)}, {RunDirectory.MetricsCsv(options)}, {RunDirectory.CurvesPng(options)}");
    return 0;
}

// The subset's name as this program records it (harmless, helpful, ...), from any name the library accepts
// (whatever the case, and the Hub's folder names such as harmless-base).
static string CanonicalSubsetName(string name) => HhRlhfLayout.TryParseSubset(name, out HhRlhfSubset subset)
    ? HhRlhfLayout.GetSubsetName(subset)
    : throw new ArgumentException($"--subset '{name}' is not an HH-RLHF subset: use {string.Join(", ", HhRlhfLayout.SubsetNames)} (or a Hub folder name such as harmless-base).");
