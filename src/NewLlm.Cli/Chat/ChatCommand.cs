using System.Text.RegularExpressions;

namespace NewLlm.Cli;

/// <summary>
/// <c>newllm chat</c>: continues a conversation with a trained checkpoint, in the turn format of the data it was trained
/// on ("Human: ... Assistant: ..." for HH-RLHF, "User: ... Assistant: ..." for a chat set of your own). The model reads
/// and writes one token at a time, carrying only its context vector: memory per token is constant; each reply is printed
/// word by word as it is generated, and ends at the end of text or where the model starts the next turn itself.
/// </summary>
internal sealed class ChatCommand : Command
{
    private readonly Option<string> _checkpoint = new("--checkpoint") { Description = "A checkpoint written by newllm train or a Trainer, or one of the original Python trainer's (then give --data-dir for its vocabulary).", Required = true };
    private readonly Option<string?> _dataDir = new("--data-dir", "--data_dir") { Description = "For an original New-LLM checkpoint, which stores no vocabulary: the HH-RLHF folder it was trained on (<dir>/<subset>/train.jsonl.gz), from which the vocabulary is rebuilt as the original does." };
    private readonly Option<string> _subset = new("--subset") { Description = "With --data-dir: the subset it was trained on.", DefaultValueFactory = _ => "helpful" };
    private readonly Option<double> _temperature = new("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 0.8 };
    private readonly Option<int> _topK = new("--top-k", "--top_k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 40 };
    private readonly Option<double> _topP = new("--top-p", "--top_p") { Description = "Nucleus sampling mass.", DefaultValueFactory = _ => 0.95 };
    private readonly Option<bool> _greedy = new("--greedy") { Description = "Always take the most likely token." };
    private readonly Option<int> _maxTokens = new("--max-tokens", "--max_tokens") { Description = "Most tokens per reply.", DefaultValueFactory = _ => 64 };
    private readonly Option<int?> _seed = new("--seed") { Description = "Seed of the sampler." };
    private readonly Option<string[]> _prompt = new("--prompt") { Description = "Your turns to send in order (non-interactive); read from standard input when absent.", AllowMultipleArgumentsPerToken = true };

    public ChatCommand()
        : base("chat", "Chat with a New-LLM checkpoint, in the turn format of the data it was trained on (Human:/Assistant: for HH-RLHF and the original's checkpoints).")
    {
        foreach (Option option in (Option[])[_checkpoint, _dataDir, _subset, _temperature, _topK, _topP, _greedy, _maxTokens, _seed, _prompt])
        {
            Options.Add(option);
        }

        CommandLine.SetAction(this, (parse, _) => Task.FromResult(Run(parse)));
    }

    private int Run(ParseResult parse)
    {
        string path = parse.GetValue(_checkpoint)!;
        NewLlmModel model = CheckpointFile.LoadModel(path) as NewLlmModel
            ?? throw new ArgumentException($"{path} holds a Transformer baseline; newllm chat talks with New-LLM checkpoints (evaluate reads both).");
        DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path) ?? OriginalCheckpoints.RebuildVocabularyAsync(path, parse.GetValue(_dataDir), parse.GetValue(_subset)!, model.Options.VocabSize, CancellationToken.None).GetAwaiter().GetResult();
        (string User, string Assistant)? labels = RoleLabels(path);
        var options = new GenerationOptions
        {
            Greedy = parse.GetValue(_greedy),
            Temperature = parse.GetValue(_temperature),
            TopK = parse.GetValue(_topK),
            TopP = parse.GetValue(_topP),
            MaxNewTokens = parse.GetValue(_maxTokens),
            EndOfSequenceId = tokenizer.EosId, // a reply ends at the end of text...
        };
        if (labels is { } speakers)
        {
            options.StopStrings.Add(speakers.User + ":"); // ...or where the model starts your next turn
        }

        options.Validate();
        var generator = new NewLlmGenerator(model);
        using var session = new GenerationSession(model);
        session.Feed(tokenizer.BosId);
        (string user, string assistant) = labels ?? ("User", "Assistant");
        int turnIndex = 0;
        IEnumerable<string> turns = parse.GetValue(_prompt) is { Length: > 0 } given ? given : ReadTurns();
        string format = labels is null ? "turns without labels" : $"turns as '{user}: ... {assistant}: ...'";
        Console.WriteLine($"Loaded {path} ({model.ParameterCount:N0} parameters, {tokenizer.Kind} tokenizer, {format}). Empty line or Ctrl+D ends.");
        foreach (string turn in turns)
        {
            string text = Regex.Replace(turn, @"\s+", " ").Trim();
            if (text.Length == 0)
            {
                break;
            }

            Console.WriteLine($"{user}: {text}");

            // When the last reply ended with the model writing your label, the session has read it already.
            string input = labels is null ? text + " "
                : session.StopReason == GenerationStopReason.StopString ? $" {text} {assistant}:"
                : $"{(turnIndex == 0 ? string.Empty : " ")}{user}: {text} {assistant}:";
            options.Seed = parse.GetValue(_seed) is int baseSeed ? baseSeed + turnIndex : null; // a fresh draw each turn
            turnIndex++;

            // The reply is written word by word as it is generated, trimmed like the text it decodes to.
            Console.Write($"{assistant}: ");
            string heldWhitespace = string.Empty;
            bool started = false;
            foreach (string piece in generator.StreamText(tokenizer.Tokenizer, input, options, session))
            {
                string part = started ? piece : piece.TrimStart();
                string word = part.TrimEnd();
                if (word.Length > 0)
                {
                    Console.Write(heldWhitespace + word);
                    heldWhitespace = string.Empty;
                    started = true;
                }

                heldWhitespace += part[word.Length..];
            }

            Console.WriteLine();
            Console.WriteLine($"  ({session.TokensSeen} tokens read so far; state: one context vector of {model.Options.ContextDim} numbers)");
        }

        return 0;
    }

    // The speakers' labels in the checkpoint's training text: HH-RLHF's (also for TrainHhRlhf's and the original trainer's
    // checkpoints, which record no data set), Dolly's and CodeAlpaca's, MATH's, a chat set's (a JSON Lines set of chosen/rejected transcripts: HH's);
    // none for UltraChat, whose turns are joined without labels.
    private static (string User, string Assistant)? RoleLabels(string path)
    {
        JsonObject? run = CheckpointFile.IsOriginalCheckpoint(path) ? null : CheckpointFile.ReadManifest(path).TrainerOptions;
        string? dataset = run?["dataset"]?.ToString();
        DialogueFormat? format = dataset == "jsonl" ? JsonLinesFormat(run!["data_dir"]?.ToString()) : null;
        return (dataset, format) switch
        {
            ("dolly" or "codealpaca", _) => ("Instruction", "Response"),
            ("math", _) => ("Problem", "Solution"),
            ("ultrachat" or "ultrachat-200k", _) or ("jsonl", ChatMessagesFormat { IncludeRoles: false } or TurnListFormat) => null,
            ("jsonl", PreferencePairFormat) => ("Human", "Assistant"),
            ("jsonl", _) => (ChatMessagesFormat.GetRoleLabel("user"), ChatMessagesFormat.GetRoleLabel("assistant")),
            _ => ("Human", "Assistant"),
        };
    }

    // The format of the JSON Lines the checkpoint was trained on, as its first row tells; null when the data are gone.
    private static DialogueFormat? JsonLinesFormat(string? dataDirectory)
    {
        if (dataDirectory is null || !(File.Exists(dataDirectory) || Directory.Exists(dataDirectory)))
        {
            return null;
        }

        try
        {
            return DialogueSource.FromDirectoryAsync(DialogueDataset.JsonLines(), dataDirectory).GetAwaiter().GetResult().Format;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException)
        {
            return null;
        }
    }

    private static IEnumerable<string> ReadTurns()
    {
        while (true)
        {
            if (!Console.IsInputRedirected)
            {
                Console.Write("> ");
            }

            if (Console.ReadLine() is not string line)
            {
                yield break;
            }

            yield return line;
        }
    }
}
