using System.CommandLine;
using Microsoft.Extensions.Options;

/// <summary>
/// What the training samples do around their work: a parse error or an unknown option as one <c>error:</c> line (with
/// "did you mean" for a near miss), Ctrl-C and SIGTERM as a cancellation (<see cref="TerminationSignals"/>), and any
/// failure as one <c>error:</c> line in the program's words with exit code 1.
/// </summary>
internal static class SampleProgram
{
    // The library's names of options, as the command line spells them.
    private static readonly (string Api, string Flag)[] FlagNames =
    [
        ("TrainerOptions.BatchSize", "--batch_size"), ("TrainerOptions.LearningRate", "--lr"), ("TrainerOptions.Epochs", "--epochs"),
        ("TrainerOptions.Device", "--device"), ("TrainerOptions.OutputDirectory", "--output"), ("TrainerOptions.Seed", "--seed"),
        ("TrainerOptions.CheckpointEveryEpochs", "--checkpoint-every"), ("TrainerOptions.CheckpointEverySteps", "--checkpoint-every"),
        ("TrainerOptions.OverwriteOutput", "--overwrite"), ("TokenizedCorpusOptions.MaxSequenceLength", "--max_seq_length"),
        ("DialogueCorpusOptions.MaxSequenceLength", "--max_seq_length"), ("DialogueCorpusOptions.MaxSamples", "--max_samples"),
        ("DialogueCorpusOptions.MaxDegreeOfParallelism", "--threads"),
        ("HhRlhfDataset.LoadFromDirectoryAsync expects", "--data-dir expects"),
    ];

    /// <summary>Parses <paramref name="args"/> and runs <paramref name="run"/>; returns the process's exit code.</summary>
    /// <param name="root">The command.</param>
    /// <param name="args">The command line.</param>
    /// <param name="run">The work: 0 when done, 130 when a signal stopped it (the signal's own code is returned).</param>
    public static Task<int> InvokeAsync(RootCommand root, string[] args, Func<ParseResult, CancellationToken, Task<int>> run)
    {
        root.SetAction(async (parse, _) =>
        {
            using var signals = new TerminationSignals();
            try
            {
                int code = await run(parse, signals.Token);
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
            return Task.FromResult(1);
        }

        return parsed.InvokeAsync();
    }

    /// <summary>Whether <paramref name="option"/> was left out of the command line (its value is the default).</summary>
    public static bool IsImplicit(ParseResult parse, Option option) => parse.GetResult(option) is null or { Implicit: true };

    // " Did you mean --epochs?" for an unknown option close to a real one (a prefix of it, or at most two edits away).
    private static string DidYouMean(RootCommand root, ParseResult parse)
    {
        string[] names = [.. root.Options.SelectMany(o => o.Aliases.Prepend(o.Name))];
        foreach (string token in parse.UnmatchedTokens.Where(t => t.StartsWith("--", StringComparison.Ordinal)))
        {
            string? near = names.FirstOrDefault(n => n.StartsWith(token, StringComparison.OrdinalIgnoreCase) || token.StartsWith(n, StringComparison.OrdinalIgnoreCase))
                ?? names.Select(n => (Name: n, Distance: EditDistance(n.ToLowerInvariant(), token.ToLowerInvariant()))).Where(p => p.Distance <= 2).OrderBy(p => p.Distance).Select(p => p.Name).FirstOrDefault();
            if (near is not null)
            {
                return $" Did you mean {near} instead of {token}?";
            }
        }

        return string.Empty;
    }

    // Levenshtein distance (letters inserted, deleted or replaced); options are short, so the plain table is enough.
    private static int EditDistance(string a, string b)
    {
        int[] previous = [.. Enumerable.Range(0, b.Length + 1)];
        for (int i = 1; i <= a.Length; i++)
        {
            int[] current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    // One line, in the program's words: the library's option names become the command line's.
    private static string OneLine(Exception ex)
    {
        string message = ex is OptionsValidationException validation ? string.Join(" ", validation.Failures) : ex.Message;
        foreach ((string api, string flag) in FlagNames)
        {
            message = message.Replace(api, flag, StringComparison.Ordinal);
        }

        return message.ReplaceLineEndings(" ").Trim();
    }
}
