using System.Diagnostics;
using System.Text;

namespace NewLlm.Cli;

/// <summary>
/// <c>newllm compare</c>: the question New-LLM exists for, answered on one set. It trains New-LLM and the Transformer
/// baseline matched to its parameter count (<c>--match-params-of</c>) with the same data, tokenizer, epochs, batch size,
/// learning rate and seed, each as a <c>newllm train</c> child process (so that each run's peak memory is its own) into
/// <c>--output</c>/new-llm and <c>--output</c>/transformer, then writes <c>comparison.md</c> (parameters, validation
/// perplexity and accuracy, training tokens/s, peak training RSS) and <c>comparison.png</c> (validation perplexity
/// against epoch and against wall-clock time).
/// </summary>
internal sealed class CompareCommand : Command
{
    private readonly Option<string> _dataset = new("--dataset") { Description = "The set (as newllm train's --dataset).", DefaultValueFactory = _ => "hh-rlhf" };
    private readonly Option<string?> _dataDir = new("--data-dir", "--data_dir") { Description = "The set's local folder (as newllm train's); the Hub when absent." };
    private readonly Option<string?> _subset = new("--subset") { Description = "HH-RLHF's subset (as newllm train's)." };
    private readonly Option<int?> _maxSamples = new("--max_samples", "--max-samples") { Description = "Keep the first N training dialogues (as newllm train's)." };
    private readonly Option<int> _epochs = new("--epochs") { Description = "Epochs of each run.", DefaultValueFactory = _ => 6 };
    private readonly Option<int> _batchSize = new("--batch_size", "--batch-size") { Description = "Sequences per batch, both runs.", DefaultValueFactory = _ => 64 };
    private readonly Option<double> _learningRate = new("--lr", "--learning_rate", "--learning-rate") { Description = "Learning rate, both runs.", DefaultValueFactory = _ => 0.0008 };
    private readonly Option<int> _seed = new("--seed") { Description = "Random seed, both runs.", DefaultValueFactory = _ => 1 };
    private readonly Option<string> _tokenizer = new("--tokenizer") { Description = "word or gpt2, both runs.", DefaultValueFactory = _ => "word" };
    private readonly Option<int> _maxSeqLength = new("--max_seq_length", "--max-seq-length") { Description = "Tokens per dialogue, both runs (the baseline's positions).", DefaultValueFactory = _ => 128 };
    private readonly Option<int> _numLayers = new("--num_layers", "--num-layers") { Description = "New-LLM's layers; the baseline has as many blocks.", DefaultValueFactory = _ => 1 };
    private readonly Option<int> _contextDim = new("--context_dim", "--context-dim") { Description = "New-LLM's context vector.", DefaultValueFactory = _ => 256 };
    private readonly Option<int> _numHeads = new("--num_heads", "--num-heads") { Description = "The baseline's attention heads.", DefaultValueFactory = _ => ModelChoice.DefaultHeads };
    private readonly Option<string> _output = new("--output") { Description = "The folder of both runs and the comparison.", DefaultValueFactory = _ => "comparison" };
    private readonly Option<bool> _overwrite = new("--overwrite") { Description = "Replace earlier runs in --output." };
    private readonly Option<int> _threads = new("--threads") { Description = "CPU threads of each run.", DefaultValueFactory = _ => Environment.ProcessorCount };

    public CompareCommand()
        : base("compare", "Train New-LLM and a Transformer baseline of the same parameter count on the same data, tokenizer, epochs, batch size, learning rate and seed, one after the other, and write a table (comparison.md) and a plot (comparison.png) of both.")
    {
        _tokenizer.AcceptOnlyFromAmong("word", "gpt2");
        foreach (Option option in (Option[])[_dataset, _dataDir, _subset, _maxSamples, _epochs, _batchSize, _learningRate, _seed, _tokenizer, _maxSeqLength, _numLayers, _contextDim, _numHeads, _output, _overwrite, _threads])
        {
            Options.Add(option);
        }

        CommandLine.SetAction(this, RunAsync);
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        string output = Path.GetFullPath(parse.GetValue(_output)!);
        string match = string.Create(CultureInfo.InvariantCulture, $"num_layers={parse.GetValue(_numLayers)},context_dim={parse.GetValue(_contextDim)}");
        var common = new List<string>
        {
            "--dataset", parse.GetValue(_dataset)!, "--epochs", Text(parse.GetValue(_epochs)), "--batch_size", Text(parse.GetValue(_batchSize)),
            "--lr", parse.GetValue(_learningRate).ToString("R", CultureInfo.InvariantCulture), "--seed", Text(parse.GetValue(_seed)),
            "--tokenizer", parse.GetValue(_tokenizer)!, "--max_seq_length", Text(parse.GetValue(_maxSeqLength)), "--num_layers", Text(parse.GetValue(_numLayers)),
            "--threads", Text(parse.GetValue(_threads)),
        };
        AddIf(common, "--data-dir", parse.GetValue(_dataDir));
        AddIf(common, "--subset", parse.GetValue(_subset));
        AddIf(common, "--max_samples", parse.GetValue(_maxSamples) is int samples ? Text(samples) : null);
        if (parse.GetValue(_overwrite))
        {
            common.Add("--overwrite");
        }

        (string Name, string Folder, string[] Arguments)[] runs =
        [
            ("New-LLM", Path.Combine(output, "new-llm"), ["train", "--model", ModelChoice.NewLlm, "--context_dim", Text(parse.GetValue(_contextDim)), .. common, "--output", Path.Combine(output, "new-llm")]),
            ("Transformer", Path.Combine(output, "transformer"), ["train", "--model", ModelChoice.Transformer, "--num_heads", Text(parse.GetValue(_numHeads)), "--match-params-of", match, .. common, "--output", Path.Combine(output, "transformer")]),
        ];

        var rows = new List<ComparisonRow>();
        foreach ((string name, string folder, string[] arguments) in runs)
        {
            Console.WriteLine($"== {name}: newllm {string.Join(' ', arguments)}");
            (int code, string text) = await RunChildAsync(arguments, cancellationToken);
            if (code != 0)
            {
                Console.Error.WriteLine($"error: the {name} run stopped (exit code {code}); its output is above. Nothing was compared.");
                return code;
            }

            rows.Add(ComparisonRow.Read(name, folder, RunFigures.Parse(text)));
        }

        string title = $"New-LLM vs Transformer ({parse.GetValue(_dataset)}{(parse.GetValue(_subset) is string subset ? "/" + subset : string.Empty)}, {parse.GetValue(_epochs)} epochs, seed {parse.GetValue(_seed)})";
        string table = ComparisonRow.Markdown(title, rows);
        string tablePath = Path.Combine(output, "comparison.md");
        string plotPath = Path.Combine(output, "comparison.png");
        AtomicFile.Write(tablePath, stream => stream.Write(Encoding.UTF8.GetBytes(table)));
        byte[] png = ComparisonPlotter.Render([.. rows.Select(r => new KeyValuePair<string, IReadOnlyList<EpochRecord>>(r.Name, r.History))], "New-LLM vs Transformer");
        AtomicFile.Write(plotPath, stream => stream.Write(png));
        Console.WriteLine();
        Console.WriteLine(table);
        Console.WriteLine($"Comparison: {tablePath}, {plotPath}");
        return 0;
    }

    // This program again, as a child (the apphost, or dotnet with this assembly), its output passed through and kept.
    private static async Task<(int Code, string Output)> RunChildAsync(string[] arguments, CancellationToken cancellationToken)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is unknown, so newllm compare cannot start its runs.");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(CompareCommand).Assembly.Location);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process child = Process.Start(start) ?? throw new InvalidOperationException($"{self} did not start.");
        var text = new StringBuilder();
        string? line;
        try
        {
            while ((line = await child.StandardOutput.ReadLineAsync(cancellationToken)) is not null)
            {
                Console.WriteLine(line);
                text.AppendLine(line);
            }

            await child.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The child got the same Ctrl-C (same process group) and saves its checkpoint; wait for it.
            await child.WaitForExitAsync(CancellationToken.None);
            throw;
        }

        return (child.ExitCode, text.ToString());
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static void AddIf(List<string> arguments, string option, string? value)
    {
        if (value is not null)
        {
            arguments.Add(option);
            arguments.Add(value);
        }
    }
}
