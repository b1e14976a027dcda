using System.Text.RegularExpressions;

namespace NewLlm.Cli;

/// <summary>
/// <c>newllm chat</c>: continues a conversation with a trained checkpoint, in the turn format of the data it was trained
/// on ("Human: ... Assistant: ..." for HH-RLHF, "User: ... Assistant: ..." for a chat set of your own). The model reads
/// and writes one token at a time through <see cref="IIncrementalDecoder"/>: a New-LLM carries only its context vector
/// (memory per token is constant), a Transformer baseline (<c>--baseline-weights</c>) its key/value cache, which grows
/// by one position per token and ends the conversation at its MaxSeqLength. Each reply is printed word by word as it is
/// generated, and ends at the end of text or where the model starts the next turn itself. Ctrl-C ends the chat at once,
/// at the prompt or in a reply (exit code 130).
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
    private readonly Option<string?> _baselineWeights = new("--baseline-weights", "--baseline_weights") { Description = "Chat with a Transformer baseline instead of the checkpoint's model: its weights (.safetensors from TransformerBaselineModel.SaveSafetensors, or a torch.save state dict such as the original's TransformerLM). The checkpoint still gives the tokenizer and the turn format; the baseline's vocabulary must cover the tokenizer's." };
    private readonly Option<int?> _numHeads = new("--num-heads", "--num_heads") { Description = "With --baseline-weights: the baseline's attention heads per block, for weights that do not record them (a state dict such as the original's; a .safetensors file: 4 when not given). A NewLlm checkpoint's recorded heads are used; a different --num-heads is refused." };
    private readonly Option<string[]> _prompt = new("--prompt") { Description = "Your turns to send in order (non-interactive); read from standard input when absent.", AllowMultipleArgumentsPerToken = true };

    public ChatCommand()
        : base("chat", "Chat with a New-LLM checkpoint (or a Transformer baseline's weights), in the turn format of the data it was trained on (Human:/Assistant: for HH-RLHF and the original's checkpoints).")
    {
        foreach (Option option in (Option[])[_checkpoint, _dataDir, _subset, _baselineWeights, _numHeads, _temperature, _topK, _topP, _greedy, _maxTokens, _seed, _prompt])
        {
            Options.Add(option);
        }

        CommandLine.SetAction(this, (parse, cancellation) => Task.FromResult(Run(parse, cancellation)), SignalNotices.Chat);
    }

    private int Run(ParseResult parse, CancellationToken cancellation)
    {
        try
        {
            return Chat(parse, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Ctrl-C, at the prompt or in a reply: nothing to save, the chat ends now.
            Console.WriteLine();
            Console.Out.Flush();
            Console.Error.WriteLine("[Interrupted]");
            return 130;
        }
    }

    private int Chat(ParseResult parse, CancellationToken cancellation)
    {
        string path = parse.GetValue(_checkpoint)!;
        if (parse.GetValue(_baselineWeights) is null && !CommandLine.IsImplicit(parse, _numHeads))
        {
            throw new ArgumentException("--num-heads is the heads of --baseline-weights, and none are given: leave it out (the checkpoint records its model's heads), or give the weights it is for with --baseline-weights.");
        }

        IIncrementalDecoder model = LoadModel(parse, path);
        DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path) ?? OriginalCheckpoints.RebuildVocabularyAsync(path, parse.GetValue(_dataDir), parse.GetValue(_subset)!, model.VocabSize, cancellation).GetAwaiter().GetResult();
        if (parse.GetValue(_baselineWeights) is string weights && IsNewLlmCheckpoint(weights))
        {
            // Weights trained with another tokenizer read its ids as other words, even where the vocabularies have one size.
            CheckpointFile.ReadManifest(weights).CheckTokenizer(tokenizer, $"--baseline-weights {weights}", $"the tokenizer of --checkpoint {path}",
                "Give as --checkpoint the checkpoint the weights were trained with (it may be the same file), or weights trained with this one's tokenizer.");
        }

        if (tokenizer.VocabSize > model.VocabSize)
        {
            throw new InvalidDataException($"{parse.GetValue(_baselineWeights) ?? path}: the model reads {model.VocabSize} token ids, but the tokenizer of {path} has {tokenizer.VocabSize}: give weights trained with that tokenizer's vocabulary.");
        }

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
        var generator = new IncrementalGenerator(model);
        using var session = new GenerationSession(model);
        session.Feed(tokenizer.BosId);
        (string user, string assistant) = labels ?? ("User", "Assistant");
        int turnIndex = 0;
        IEnumerable<string> turns = parse.GetValue(_prompt) is { Length: > 0 } given ? given : ReadTurns(cancellation);
        string format = labels is null ? "turns without labels" : $"turns as '{user}: ... {assistant}: ...'";
        Console.WriteLine($"Loaded {parse.GetValue(_baselineWeights) ?? path} ({Describe(model)}, {tokenizer.Kind} tokenizer, {format}). Empty line, Ctrl+D or Ctrl+C ends.");
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

            // A turn the positions left cannot hold is not begun (the generator would refuse it).
            if (session.State.MaxLength is long positions && session.State.Length + tokenizer.Tokenizer.CountTokens(input) > positions)
            {
                Console.WriteLine($"(the model has read {session.State.Length} of its {positions} positions and has no room for this turn: the conversation ends)");
                break;
            }

            // The reply is written word by word as it is generated, trimmed like the text it decodes to.
            Console.Write($"{assistant}: ");
            string heldWhitespace = string.Empty;
            bool started = false;
            foreach (string piece in generator.StreamText(tokenizer.Tokenizer, input, options, session, cancellation))
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

            if (session.StopReason == GenerationStopReason.PositionLimit)
            {
                Console.Write($" (the model has read all its {session.State.MaxLength} positions)");
            }

            Console.WriteLine();
            Console.WriteLine($"  ({session.TokensSeen} tokens read so far; state: {StateLine(session.State)})");
            if (session.StopReason == GenerationStopReason.PositionLimit)
            {
                Console.WriteLine("(no position is left for another turn: the conversation ends)");
                break;
            }
        }

        return 0;
    }

    // The model to chat with: the checkpoint's, or the Transformer baseline of --baseline-weights. (When checkpoints record
    // their model's kind, CheckpointFile's loader returns either and this is that one call.)
    private IIncrementalDecoder LoadModel(ParseResult parse, string checkpoint)
    {
        if (parse.GetValue(_baselineWeights) is not string weights)
        {
            // Both models decode incrementally; the checkpoint records which one it holds.
            return (IIncrementalDecoder)CheckpointFile.LoadModel(checkpoint);
        }

        if (!File.Exists(weights))
        {
            throw new FileNotFoundException($"--baseline-weights {weights}: no such file; give the safetensors or .pt weights of a TransformerBaselineModel.", weights);
        }

        // Dropout is not used in generation (the inference function); 0 says so. A .pt file's recorded heads are used.
        return weights.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? TransformerBaselineModel.FromSafetensors(weights, parse.GetValue(_numHeads) ?? new TransformerBaselineOptions().NumHeads, dropout: 0)
            : TransformerBaselineModel.FromPyTorch(weights, parse.GetValue(_numHeads), dropout: 0);
    }

    // A checkpoint NewLlm wrote (it records its tokenizer), not a state dict or the original's, nor safetensors.
    private static bool IsNewLlmCheckpoint(string weights) =>
        !weights.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) && !CheckpointFile.IsOriginalCheckpoint(weights);

    private static string Describe(IIncrementalDecoder model) => model switch
    {
        NewLlmModel newLlm => $"New-LLM, {newLlm.ParameterCount:N0} parameters",
        TransformerBaselineModel baseline => $"Transformer baseline, {baseline.ParameterCount:N0} parameters, {baseline.Options.MaxSeqLength} positions",
        _ => model.GetType().Name,
    };

    private static string StateLine(IDecodingState state) => state.MaxLength is long positions
        ? $"a key/value cache of {state.SizeInBytes:N0} bytes, {state.Length} of {positions} positions used"
        : $"{state.SizeInBytes:N0} bytes, the same however long the conversation";

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

    // Your turns from standard input. The line is read on a thread-pool thread so that Ctrl-C (the token) ends the wait
    // at once; the read left waiting ends with the process.
    private static IEnumerable<string> ReadTurns(CancellationToken cancellation)
    {
        while (true)
        {
            if (!Console.IsInputRedirected)
            {
                Console.Write("> ");
            }

            Task<string?> read = Task.Run(Console.ReadLine, CancellationToken.None);
            read.Wait(cancellation);
            if (read.Result is not string line)
            {
                yield break;
            }

            yield return line;
        }
    }
}
