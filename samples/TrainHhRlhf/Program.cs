// Trains New-LLM on Anthropic HH-RLHF with the command line of the original train_hh_rlhf.py.
//   dotnet run -c Release --project samples/TrainHhRlhf -- --subset harmless --num_layers 1 --epochs 6 --batch_size 64
using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Options;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;
using TorchSharp;

var numLayers = new Option<int>("--num_layers", "--num-layers") { Description = "Feed-forward layers (the original trained 1 and 4).", DefaultValueFactory = _ => 1 };
var maxSeqLength = new Option<int>("--max_seq_length", "--max-seq-length") { Description = "Tokens per dialogue (truncated or padded).", DefaultValueFactory = _ => 128 };
var subset = new Option<string>("--subset") { Description = "HH-RLHF subset.", DefaultValueFactory = _ => "helpful" };
subset.AcceptOnlyFromAmong("helpful", "harmless", "helpful-online", "helpful-rejection-sampled", "all");
var epochs = new Option<int>("--epochs") { Description = "Total epochs (a resumed run trains the remaining ones).", DefaultValueFactory = _ => 100 };
var batchSize = new Option<int>("--batch_size", "--batch-size") { Description = "Sequences per batch.", DefaultValueFactory = _ => 2048 };
var learningRate = new Option<double>("--lr", "--learning_rate", "--learning-rate") { Description = "Learning rate.", DefaultValueFactory = _ => 0.0008 };
var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };
var dataDir = new Option<string?>("--data-dir", "--data_dir") { Description = "A local copy laid out like the Hub repository (<dir>/<subset>/<split>.jsonl.gz); downloads from the Hub when absent." };
var tokenizerKind = new Option<string>("--tokenizer") { Description = "word (the original's 1000-word vocabulary) or gpt2.", DefaultValueFactory = _ => "word" };
tokenizerKind.AcceptOnlyFromAmong("word", "gpt2");
var output = new Option<string?>("--output") { Description = "Output directory (default: checkpoints, or the resumed checkpoint's directory)." };
var resume = new Option<string?>("--resume") { Description = "Continue from a checkpoint written by this program." };
var seed = new Option<int>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 42 };
var threads = new Option<int>("--threads") { Description = "CPU threads for torch (default: one per processor).", DefaultValueFactory = _ => Environment.ProcessorCount };
var preference = new Option<bool>("--preference-accuracy") { Description = "Also report the share of test pairs whose chosen reply is more likely than the rejected one." };

var root = new RootCommand("Train New-LLM on Anthropic HH-RLHF (the original train_hh_rlhf.py command line).")
{
    numLayers, maxSeqLength, subset, epochs, batchSize, learningRate, device, dataDir, tokenizerKind, output, resume, seed, threads, preference,
};

root.SetAction(async (parse, cancellationToken) =>
{
    try
    {
        return await RunAsync(parse, cancellationToken);
    }
    catch (Exception ex)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"error: {OneLine(ex)}");
        return ex is OperationCanceledException ? 130 : 1;
    }
});

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message.ReplaceLineEndings(" ")))} (see --help)");
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
    HhRlhfSubset selected = ParseSubset(parse.GetValue(subset)!);
    string? resumePath = parse.GetValue(resume);
    CheckpointManifest? manifest = resumePath is null ? null : CheckpointFile.ReadManifest(resumePath);
    int layers = parse.GetValue(numLayers);
    if (manifest is not null)
    {
        if (!IsImplicit(parse, numLayers) && layers != manifest.ModelOptions.NumLayers)
        {
            throw new ArgumentException($"--num_layers {layers} differs from the checkpoint's {manifest.ModelOptions.NumLayers} layers.");
        }

        layers = manifest.ModelOptions.NumLayers;
    }

    if (layers < 1)
    {
        throw new ArgumentException($"--num_layers must be at least 1 (the original used 1 or 4), not {layers}.");
    }

    string outputDirectory = parse.GetValue(output)
        ?? (resumePath is not null ? Path.GetDirectoryName(Path.GetFullPath(resumePath))! : "checkpoints");
    int sequenceLength = parse.GetValue(maxSeqLength);
    var options = new TrainerOptions
    {
        ModelName = $"new_llm_hh_rlhf_layers{layers}",
        Epochs = parse.GetValue(epochs),
        BatchSize = parse.GetValue(batchSize),
        LearningRate = parse.GetValue(learningRate),
        Device = parse.GetValue(device)!,
        Seed = parse.GetValue(seed),
        OutputDirectory = outputDirectory,
    }.Validate();
    DeviceName.Resolve(options.Device); // fail before loading data when CUDA is asked for and absent
    if (sequenceLength < 2)
    {
        throw new ArgumentException($"--max_seq_length must be at least 2, not {sequenceLength}.");
    }
    bool interactive = !Console.IsOutputRedirected;

    // Data: the subset's own files, from a local copy or the Hub.
    string? directory = parse.GetValue(dataDir);
    var downloadProgress = new ConsoleDownloadProgress(interactive);
    Console.WriteLine($"Loading HH-RLHF {parse.GetValue(subset)} from {directory ?? "the Hugging Face Hub"}...");
    HhRlhfDataset train = directory is null
        ? await HhRlhfDataset.LoadFromHubAsync(selected, HhRlhfSplit.Train, progress: downloadProgress, cancellationToken: cancellationToken)
        : await HhRlhfDataset.LoadFromDirectoryAsync(directory, selected, HhRlhfSplit.Train, cancellationToken);
    HhRlhfDataset test = directory is null
        ? await HhRlhfDataset.LoadFromHubAsync(selected, HhRlhfSplit.Test, progress: downloadProgress, cancellationToken: cancellationToken)
        : await HhRlhfDataset.LoadFromDirectoryAsync(directory, selected, HhRlhfSplit.Test, cancellationToken);
    downloadProgress.Finish();
    if (train.Count == 0 || test.Count == 0)
    {
        throw new InvalidDataException($"The {parse.GetValue(subset)} subset has {train.Count} train and {test.Count} test dialogues; both must be non-empty.");
    }

    // Tokenizer: the checkpoint's when resuming, otherwise built (word) or the packaged GPT-2 BPE.
    string kind = parse.GetValue(tokenizerKind)!;
    DialogueTokenizer tokenizer;
    if (resumePath is not null)
    {
        tokenizer = CheckpointFile.LoadTokenizer(resumePath)
            ?? throw new InvalidDataException($"{resumePath}: the checkpoint holds no tokenizer, so the run cannot be resumed with the same vocabulary.");
        if (!IsImplicit(parse, tokenizerKind) && tokenizer.Kind != kind)
        {
            throw new ArgumentException($"--tokenizer {kind} differs from the checkpoint's tokenizer '{tokenizer.Kind}'.");
        }
    }
    else
    {
        tokenizer = kind == "gpt2" ? Gpt2DialogueTokenizer.Create() : WordLevelTokenizer.Build(train.GetNormalizedChosenTexts());
    }

    var corpusOptions = new TokenizedCorpusOptions { MaxSequenceLength = sequenceLength };
    string cache = Path.Combine(outputDirectory, "cache");
    TokenizedCorpus trainCorpus = await TokenizedCorpus.LoadOrBuildAsync(train, tokenizer, corpusOptions, cache, cancellationToken: cancellationToken);
    TokenizedCorpus testCorpus = await TokenizedCorpus.LoadOrBuildAsync(test, tokenizer, corpusOptions, cache, cancellationToken: cancellationToken);

    torch.random.manual_seed(parse.GetValue(seed));
    var model = new NewLlmModel(manifest?.ModelOptions ?? new NewLlmOptions { VocabSize = tokenizer.VocabSize, NumLayers = layers });
    options.RunConfiguration["subset"] = parse.GetValue(subset)!;
    options.RunConfiguration["tokenizer"] = tokenizer.Kind;
    options.RunConfiguration["max_seq_length"] = sequenceLength.ToString(CultureInfo.InvariantCulture);
    options.RunConfiguration["data"] = train.SourceDescription;

    TokenizedPreferencePairs? pairs = parse.GetValue(preference) ? TokenizedPreferencePairs.Build(test, tokenizer, corpusOptions) : null;
    using var trainer = new Trainer(model, trainCorpus, testCorpus, options, tokenizer, pairs, [new ConsoleReporter()]);

    if (resumePath is not null)
    {
        trainer.LoadCheckpoint(resumePath);
    }

    TrainingResult result = await trainer.TrainAsync(cancellationToken);
    if (result.Outcome == TrainingOutcome.Cancelled)
    {
        Console.Error.WriteLine($"Interrupted. {result.Message}");
        return 130;
    }

    Console.WriteLine($"Reports: {ReportFiles.ProgressJson(options)}, {ReportFiles.MetricsCsv(options)}, {ReportFiles.CurvesPng(options)}");
    return 0;
}

static HhRlhfSubset ParseSubset(string name) => name switch
{
    "helpful" => HhRlhfSubset.Helpful,
    "harmless" => HhRlhfSubset.Harmless,
    "helpful-online" => HhRlhfSubset.HelpfulOnline,
    "helpful-rejection-sampled" => HhRlhfSubset.HelpfulRejectionSampled,
    _ => HhRlhfSubset.All,
};

static bool IsImplicit(ParseResult parse, Option option) => parse.GetResult(option) is null or { Implicit: true };

static string OneLine(Exception ex)
{
    string message = ex is OptionsValidationException validation ? string.Join(" ", validation.Failures) : ex.Message;
    return message.ReplaceLineEndings(" ").Trim();
}

/// <summary>Download progress on one console line when interactive; a line per file otherwise.</summary>
internal sealed class ConsoleDownloadProgress(bool interactive) : IProgress<DownloadProgress>
{
    private string? _current;
    private int _lastPercent = -1;

    public void Report(DownloadProgress value)
    {
        lock (this)
        {
            if (value.FileName != _current)
            {
                Finish();
                _current = value.FileName;
                _lastPercent = -1;
                if (!interactive)
                {
                    Console.WriteLine($"  Downloading {value.FileName}...");
                }
            }

            int percent = value.TotalBytes is long total && total > 0 ? (int)(100 * value.BytesReceived / total) : -1;
            if (interactive && percent != _lastPercent)
            {
                _lastPercent = percent;
                string size = (value.BytesReceived / 1e6).ToString("F1", CultureInfo.InvariantCulture);
                string bar = percent < 0 ? string.Empty : "[" + new string('#', percent / 5).PadRight(20) + $"] {percent,3}% ";
                Console.Write($"\r  Downloading {value.FileName} {bar}{size} MB   ");
            }
        }
    }

    public void Finish()
    {
        lock (this)
        {
            if (_current is not null && interactive)
            {
                Console.WriteLine();
            }

            _current = null;
        }
    }
}
