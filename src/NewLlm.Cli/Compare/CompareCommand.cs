using System.Diagnostics;
using System.Text;

namespace NewLlm.Cli;

/// <summary>
/// <c>newllm compare</c>: the question New-LLM exists for, answered on one set. It trains New-LLM and the Transformer
/// baseline matched to its parameter count (<c>--match-params-of</c>) with the same data, tokenizer, epochs, batch size,
/// learning rate and seed, each as a <c>newllm train</c> child process (so that each run's peak memory is its own) into
/// <c>--output</c>/new-llm and <c>--output</c>/transformer, then writes <c>comparison.md</c> (parameters, validation
/// perplexity and accuracy, training tokens/s, peak training RSS) and <c>comparison.png</c> (validation perplexity
/// against epoch and against wall-clock time). The same command again reuses a run that finished with its settings and
/// continues one that was interrupted (<see cref="ComparisonRun"/>); Ctrl-C lets the run in progress save its checkpoint.
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
    private readonly Option<bool> _overwrite = new("--overwrite") { Description = "Train both models afresh, deleting earlier runs in --output (without it, the same command again reuses a finished run and continues an interrupted one)." };
    private readonly Option<int> _threads = new("--threads") { Description = "CPU threads of each run.", DefaultValueFactory = _ => Environment.ProcessorCount };

    public CompareCommand()
        : base("compare", "Train New-LLM and a Transformer baseline of the same parameter count on the same data, tokenizer, epochs, batch size, learning rate and seed, one after the other, and write a table (comparison.md) and a plot (comparison.png) of both. Ctrl-C saves the run in progress; the same command again continues it, and reuses a run that finished.")
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
        int epochs = parse.GetValue(_epochs), batch = parse.GetValue(_batchSize), seed = parse.GetValue(_seed), sequenceLength = parse.GetValue(_maxSeqLength);
        int layers = parse.GetValue(_numLayers), context = parse.GetValue(_contextDim), heads = parse.GetValue(_numHeads);
        double rate = parse.GetValue(_learningRate);
        string tokenizer = parse.GetValue(_tokenizer)!;
        string? dataDir = parse.GetValue(_dataDir);
        int? samples = parse.GetValue(_maxSamples);
        bool overwrite = parse.GetValue(_overwrite);
        DialogueDataset set = ParseDataset(parse.GetValue(_dataset)!, parse.GetValue(_subset));
        string match = string.Create(CultureInfo.InvariantCulture, $"num_layers={layers},context_dim={context}");
        var common = new List<string>
        {
            "--dataset", parse.GetValue(_dataset)!, "--epochs", Text(epochs), "--batch_size", Text(batch),
            "--lr", rate.ToString("R", CultureInfo.InvariantCulture), "--seed", Text(seed),
            "--tokenizer", tokenizer, "--max_seq_length", Text(sequenceLength), "--num_layers", Text(layers),
            "--threads", Text(parse.GetValue(_threads)),
        };
        AddIf(common, "--data-dir", dataDir);
        AddIf(common, "--subset", parse.GetValue(_subset));
        AddIf(common, "--max_samples", samples is int limit ? Text(limit) : null);

        // What both runs are trained with, as their checkpoints record it (newllm train's settings; see ResumePoint).
        ComparisonRun.Setting[] shared =
        [
            new("--dataset", set.Name, p => p.GetString("dataset")),
            new("--subset", set.Subset, p => p.GetString("subset")),
            new("--data-dir", dataDir is null ? "hub" : Path.GetFullPath(dataDir), p => p.GetString("data_dir")),
            new("--max_samples", samples, p => p.Get<int>("max_samples")),
            new("--epochs", epochs, p => p.Get<int>("epochs")),
            new("--batch_size", batch, p => p.Get<int>("batch_size")),
            new("--lr", rate, p => p.Get<double>("learning_rate")),
            new("--seed", seed, p => p.Get<int>("seed")),
            new("--tokenizer", tokenizer, p => p.GetString("tokenizer")),
            new("--max_seq_length", sequenceLength, p => p.Get<int>("max_seq_length")),
            new("--num_layers", layers, p => p.NumLayers),
        ];
        string newLlmFolder = Path.Combine(output, "new-llm"), transformerFolder = Path.Combine(output, "transformer");
        (ComparisonRun Run, string[] Arguments)[] runs =
        [
            (new ComparisonRun("New-LLM", newLlmFolder, [.. shared, new("--model", ModelChoice.NewLlm, p => p.IsTransformer ? ModelChoice.Transformer : ModelChoice.NewLlm), new("--context_dim", context, p => p.Model?.ContextDim)]),
                ["train", "--model", ModelChoice.NewLlm, "--context_dim", Text(context), .. common, "--output", newLlmFolder]),
            (new ComparisonRun("Transformer", transformerFolder, [.. shared, new("--model", ModelChoice.Transformer, p => p.IsTransformer ? ModelChoice.Transformer : ModelChoice.NewLlm), new("--num_heads", heads, p => p.Baseline?.NumHeads), new("--context_dim", context, p => MatchedContext(p, context, match))]),
                ["train", "--model", ModelChoice.Transformer, "--num_heads", Text(heads), "--match-params-of", match, .. common, "--output", transformerFolder]),
        ];

        // --overwrite deletes the earlier runs first; otherwise every run's folder is looked at, and one with other
        // settings refused, before anything is trained or deleted.
        string tablePath = Path.Combine(output, "comparison.md");
        string plotPath = Path.Combine(output, "comparison.png");
        if (overwrite)
        {
            foreach ((ComparisonRun run, _) in runs)
            {
                run.DeleteEarlierRun();
            }
        }

        (ComparisonRunState State, string? Checkpoint)[] found = [.. runs.Select(r => r.Run.Inspect())];
        if (overwrite || found.Any(f => f.State != ComparisonRunState.Finished))
        {
            foreach (string stale in new[] { tablePath, plotPath }.Where(File.Exists))
            {
                File.Delete(stale); // an earlier comparison's table and plot are not left beside runs that are trained again
            }
        }

        var rows = new List<ComparisonRow>();
        for (int i = 0; i < runs.Length; i++)
        {
            (ComparisonRun run, string[] arguments) = runs[i];
            (ComparisonRunState state, string? checkpoint) = found[i];
            if (state == ComparisonRunState.Finished)
            {
                Console.WriteLine($"== {run.Name}: the run in {run.Folder} finished with these settings ({Path.GetFileName(checkpoint)}); its results are used (--overwrite trains both models afresh).");
            }
            else
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return Interrupted($"before the {run.Name} run", overwrite);
                }

                if (state == ComparisonRunState.Interrupted)
                {
                    arguments = ["train", "--resume", checkpoint!, "--output", run.Folder, "--threads", Text(parse.GetValue(_threads))];
                    Console.WriteLine($"== {run.Name}: continuing the interrupted run from {Path.GetFileName(checkpoint)}: newllm {string.Join(' ', arguments)}");
                }
                else
                {
                    Console.WriteLine($"== {run.Name}: newllm {string.Join(' ', arguments)}");
                }

                (int code, string text) = await RunChildAsync(arguments, cancellationToken);
                if (cancellationToken.IsCancellationRequested || code is 130 or 143)
                {
                    return Interrupted($"{(code == 0 ? "after" : "during")} the {run.Name} run", overwrite, code);
                }

                if (code != 0)
                {
                    Console.Error.WriteLine($"error: the {run.Name} run stopped (exit code {code}); its output is above. Nothing was compared.");
                    return code;
                }

                AtomicFile.Write(run.OutputFile, stream => stream.Write(Encoding.UTF8.GetBytes(text)));
            }

            string? kept = File.Exists(run.OutputFile) ? File.ReadAllText(run.OutputFile) : null;
            rows.Add(ComparisonRow.Read(run.Name, run.Folder, kept is null ? null : RunFigures.Parse(kept)));
        }

        string title = $"New-LLM vs Transformer ({set.Name}{(set.Subset is string subset ? "/" + subset : string.Empty)}, {epochs} epoch{(epochs == 1 ? string.Empty : "s")}, seed {seed})";
        string table = ComparisonRow.Markdown(title, rows);
        AtomicFile.Write(tablePath, stream => stream.Write(Encoding.UTF8.GetBytes(table)));
        byte[] png = ComparisonPlotter.Render([.. rows.Select(r => new KeyValuePair<string, IReadOnlyList<EpochRecord>>(r.Name, r.History))], "New-LLM vs Transformer");
        AtomicFile.Write(plotPath, stream => stream.Write(png));
        Console.WriteLine();
        Console.WriteLine(table);
        Console.WriteLine($"Comparison: {tablePath}, {plotPath}");
        return 0;
    }

    // What is said when a signal stops the comparison (the child has said where its checkpoint is); 130 becomes the signal's code.
    private static int Interrupted(string when, bool overwrite, int code = 130)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"[Comparison interrupted {when}: run the same command again{(overwrite ? " without --overwrite (which starts afresh)" : string.Empty)} to continue it]");
        return code == 143 ? 143 : 130;
    }

    // This command's --context_dim if the baseline in the checkpoint is the one matched to it, else the sizes it has.
    private static object? MatchedContext(ResumePoint point, int context, string match) => point.Baseline is not { } saved ? null
        : ModelChoice.IsMatch(match, saved, out _) ? context
        : string.Create(CultureInfo.InvariantCulture, $"a baseline matched to another size (embedding {saved.EmbedDim}, FFN {saved.HiddenDim})");

    // The set and subset as newllm train names them in its checkpoints.
    private static DialogueDataset ParseDataset(string name, string? subset)
    {
        try
        {
            return DialogueDataset.Parse(name, subset);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"{(subset is null ? "--dataset" : "--subset")} {ex.Message}", ex);
        }
    }

    // This program again, as a child (the apphost, or dotnet with this assembly), its output passed through and kept.
    // The child is in this process's group, so a Ctrl-C reaches it too; a signal sent to this process alone is passed on.
    // Either way the child saves its interrupt checkpoint and says so, and its output is relayed until it exits.
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
        using CancellationTokenRegistration forward = cancellationToken.Register(() => PassOnInterrupt(child));
        var text = new StringBuilder();
        string? line;
        while ((line = await child.StandardOutput.ReadLineAsync(CancellationToken.None)) is not null)
        {
            Console.WriteLine(line);
            text.AppendLine(line);
        }

        await child.WaitForExitAsync(CancellationToken.None);
        return (child.ExitCode, text.ToString());
    }

    // SIGINT to the child (which takes a second delivery within its repeat window as the same request); on Windows the
    // console's Ctrl-C reaches every process attached to it.
    private static void PassOnInterrupt(Process child)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            if (!child.HasExited)
            {
                using Process? kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-INT", child.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false });
                kill?.WaitForExit();
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // The child has exited, or there is no kill(1): a Ctrl-C at the terminal reaches the child anyway.
        }
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
