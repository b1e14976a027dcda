using Microsoft.Extensions.Options;

namespace NewLlm.Cli;

/// <summary>
/// What every command does around its work: Ctrl-C and SIGTERM as a cancellation (<see cref="TerminationSignals"/>), and
/// any failure as one <c>error:</c> line in the tool's words with exit code 1.
/// </summary>
internal static class CommandLine
{
    // The library's names of options, as the command line spells them.
    private static readonly (string Api, string Flag)[] FlagNames =
    [
        ("TrainerOptions.BatchSize", "--batch_size"), ("TrainerOptions.LearningRate", "--lr"), ("TrainerOptions.Epochs", "--epochs"),
        ("numHeads", "--num-heads"), ("TrainerOptions.Device", "--device"), ("TrainerOptions.OutputDirectory", "--output"), ("TrainerOptions.Seed", "--seed"),
        ("TrainerOptions.CheckpointEveryEpochs", "--checkpoint-every"), ("TrainerOptions.CheckpointEverySteps", "--checkpoint-every"),
        ("TrainerOptions.OverwriteOutput", "--overwrite"), ("TokenizedCorpusOptions.MaxSequenceLength", "--max_seq_length"),
        ("DialogueCorpusOptions.MaxSequenceLength", "--max_seq_length"), ("DialogueCorpusOptions.MaxSamples", "--max_samples"),
        ("DialogueCorpusOptions.MaxDegreeOfParallelism", "--threads"), ("GenerationOptions.", "--"),
        ("HhRlhfDataset.LoadFromDirectoryAsync expects", "--data-dir expects"),
        ("is read as DialogueDataset.JsonLines", "is read with --dataset jsonl"),
    ];

    /// <summary>
    /// Sets <paramref name="command"/>'s action to <paramref name="run"/>, which is given a token the first termination
    /// signal cancels and returns 0 when done, 130 when a signal stopped it (the signal's own code is returned).
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="run">The work.</param>
    /// <param name="notices">What the signals are announced as; a training run's by default.</param>
    public static void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> run, SignalNotices? notices = null) => command.SetAction(async (parse, _) =>
    {
        using var signals = new TerminationSignals(notices ?? SignalNotices.Training);
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

    /// <summary>Whether <paramref name="option"/> was left out of the command line (its value is the default).</summary>
    public static bool IsImplicit(ParseResult parse, Option option) => parse.GetResult(option) is null or { Implicit: true };

    // One line, in the tool's words: the library's option names become the command line's.
    private static string OneLine(Exception ex)
    {
        string message = ex switch
        {
            OptionsValidationException validation => string.Join(" ", validation.Failures),
            ArgumentException { ParamName: string name } argument => argument.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal),
            _ => ex.Message,
        };
        foreach ((string api, string flag) in FlagNames)
        {
            message = message.Replace(api, flag, StringComparison.Ordinal);
        }

        return message.ReplaceLineEndings(" ").Trim();
    }
}
