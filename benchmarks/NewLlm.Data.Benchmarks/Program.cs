// Figures for the NewLlm.Data README: one JSON line per figure.
// Usage: dotnet run -c Release --project benchmarks/NewLlm.Data.Benchmarks [-- <hh-rlhf directory>] [--repeats N]
//        dotnet run -c Release --project benchmarks/NewLlm.Data.Benchmarks -- dialogue [--rows N] [--full-rows N] [--skip-full] (see DialogueBenchmark)
using System.Diagnostics;
using System.Text.Json;
using NewLlm.Data;

if (args.Length > 0 && args[0] is "dialogue" or "dialogue-memory")
{
    return await DialogueBenchmark.RunAsync(args);
}

string? directory = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !int.TryParse(a, out _));
int repeats = args.SkipWhile(a => a != "--repeats").Skip(1).Select(int.Parse).FirstOrDefault(5);
directory ??= FindSharedDirectory();
string file = Path.Combine(directory, "harmless-base", "test.jsonl.gz");
if (!File.Exists(file))
{
    Console.Error.WriteLine($"The HH-RLHF file '{file}' is absent; pass the dataset directory as the first argument.");
    return 1;
}

void Emit(object figure) => Console.WriteLine(JsonSerializer.Serialize(figure));

// Best of N runs after one warm-up, in seconds.
double Best(Action action)
{
    action();
    double best = double.MaxValue;
    for (int i = 0; i < repeats; i++)
    {
        var watch = Stopwatch.StartNew();
        action();
        best = Math.Min(best, watch.Elapsed.TotalSeconds);
    }

    return best;
}

HhRlhfDataset dataset = null!;
double parse = Best(() => dataset = HhRlhfDataset.LoadFromDirectoryAsync(directory, HhRlhfSubset.Harmless, HhRlhfSplit.Test).GetAwaiter().GetResult());
Emit(new { figure = "parse", file = "harmless-base/test.jsonl.gz", rows = dataset.Count, seconds = parse, rows_per_second = dataset.Count / parse });

var texts = dataset.GetNormalizedChosenTexts();
var word = WordLevelTokenizer.Build(texts);
var gpt2 = Gpt2DialogueTokenizer.Create();
foreach (DialogueTokenizer tokenizer in new DialogueTokenizer[] { word, gpt2 })
{
    long tokens = 0;
    double seconds = Best(() =>
    {
        tokens = 0;
        foreach (string text in texts)
        {
            tokens += tokenizer.Encode(text).Count;
        }
    });
    Emit(new { figure = "tokenize", tokenizer = tokenizer.Kind, threads = 1, rows = texts.Count, tokens, seconds, tokens_per_second = tokens / seconds });
}

string cache = Path.Combine(Path.GetTempPath(), "newllm-data-bench-" + Guid.NewGuid().ToString("N"));
try
{
    foreach (DialogueTokenizer tokenizer in new DialogueTokenizer[] { word, gpt2 })
    {
        var options = new TokenizedCorpusOptions { MaxSequenceLength = 128 };
        double fresh = Best(() => TokenizedCorpus.Build(texts, tokenizer, options));
        TokenizedCorpus.LoadOrBuildAsync(dataset, tokenizer, options, cache).GetAwaiter().GetResult(); // writes the cache
        double cached = Best(() => TokenizedCorpus.LoadOrBuildAsync(dataset, tokenizer, options, cache).GetAwaiter().GetResult());
        Emit(new
        {
            figure = "corpus_cache",
            tokenizer = tokenizer.Kind,
            rows = texts.Count,
            max_sequence_length = options.MaxSequenceLength,
            threads = Environment.ProcessorCount,
            tokenize_seconds = fresh,
            arrow_cache_seconds = cached,
            speedup = fresh / cached,
        });
    }
}
finally
{
    Directory.Delete(cache, recursive: true);
}

return 0;

static string FindSharedDirectory()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NewLlm.sln")))
    {
        dir = dir.Parent;
    }

    return Path.Combine(dir?.Parent?.FullName ?? ".", "shared", "hh-rlhf");
}
