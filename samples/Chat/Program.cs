// Continues a conversation in the HH-RLHF format ("Human: ... Assistant: ...") with a trained checkpoint.
// The model reads and writes one token at a time, carrying only its context vector: memory per token is constant;
// each reply is printed word by word as it is generated.
//   dotnet run --project samples/Chat -- --checkpoint checkpoints/best_new_llm_hh_rlhf_layers1.pt --temperature 0.8 --top-k 40
using System.CommandLine;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by TrainHhRlhf or a Trainer, or one of the original Python trainer's (then give --data-dir for its vocabulary).", Required = true };
var dataDir = new Option<string?>("--data-dir", "--data_dir") { Description = "For an original New-LLM checkpoint, which stores no vocabulary: the HH-RLHF folder it was trained on (<dir>/<subset>/train.jsonl.gz), from which the vocabulary is rebuilt as the original does." };
var subset = new Option<string>("--subset") { Description = "With --data-dir: the subset it was trained on.", DefaultValueFactory = _ => "helpful" };
var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => 0.8 };
var topK = new Option<int>("--top-k", "--top_k") { Description = "Sample among the k most likely tokens (0: all).", DefaultValueFactory = _ => 40 };
var topP = new Option<double>("--top-p", "--top_p") { Description = "Nucleus sampling mass.", DefaultValueFactory = _ => 0.95 };
var greedy = new Option<bool>("--greedy") { Description = "Always take the most likely token." };
var maxTokens = new Option<int>("--max-tokens", "--max_tokens") { Description = "Most tokens per reply.", DefaultValueFactory = _ => 64 };
var seed = new Option<int?>("--seed") { Description = "Seed of the sampler." };
var prompt = new Option<string[]>("--prompt") { Description = "Human turns to send in order (non-interactive); read from standard input when absent.", AllowMultipleArgumentsPerToken = true };

var root = new RootCommand("Chat with a New-LLM checkpoint in the HH-RLHF format.") { checkpoint, dataDir, subset, temperature, topK, topP, greedy, maxTokens, seed, prompt };
root.SetAction(parse =>
{
    try
    {
        return Run(parse);
    }
    catch (Exception ex)
    {
        string message = ex is OptionsValidationException v ? string.Join(" ", v.Failures) : ex.Message;
        Console.Error.WriteLine($"error: {message.ReplaceLineEndings(" ")}");
        return 1;
    }
});
ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    Console.Error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => e.Message.ReplaceLineEndings(" ")))} (see --help)");
    return 1;
}

return parsed.Invoke();

int Run(ParseResult parse)
{
    string path = parse.GetValue(checkpoint)!;
    NewLlmModel model = CheckpointFile.LoadModel(path);
    DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path) ?? RebuildVocabulary(path, parse.GetValue(dataDir), parse.GetValue(subset)!, model.Options.VocabSize);
    var options = new GenerationOptions
    {
        Greedy = parse.GetValue(greedy),
        Temperature = parse.GetValue(temperature),
        TopK = parse.GetValue(topK),
        TopP = parse.GetValue(topP),
        MaxNewTokens = parse.GetValue(maxTokens),
        Seed = parse.GetValue(seed),
    };
    int[] humanTag = tokenizer.Encode("Human:").ToArray();
    options.StopSequences.Add(humanTag);
    options.StopSequences.Add([tokenizer.EosId]);
    options.Validate();

    var generator = new NewLlmGenerator(model);
    using var session = new GenerationSession(model);
    session.Feed(tokenizer.BosId);
    int turnIndex = 0;
    bool humanTagFed = false; // the model itself wrote "Human:" when its last reply stopped there
    IEnumerable<string> turns = parse.GetValue(prompt) is { Length: > 0 } given ? given : ReadTurns();
    Console.WriteLine($"Loaded {path} ({model.ParameterCount:N0} parameters, {tokenizer.Kind} tokenizer). Empty line or Ctrl+D ends.");
    foreach (string turn in turns)
    {
        string text = Regex.Replace(turn, @"\s+", " ").Trim();
        if (text.Length == 0)
        {
            break;
        }

        Console.WriteLine($"Human: {text}");
        string input = (humanTagFed ? string.Empty : "Human: ") + text + " Assistant:";
        int[] inputIds = tokenizer.Encode(input).ToArray();
        options.Seed = parse.GetValue(seed) is int baseSeed ? baseSeed + turnIndex++ : null; // a fresh draw each turn
        long before = session.TokensSeen;
        var reply = new List<int>();
        IEnumerable<int> tokens = Recorded(generator.Generate(inputIds, options, session), reply)
            .Where(id => id != tokenizer.PadId && id != tokenizer.BosId);

        // The reply is written word by word as it is generated (decoding the whole reply each time, so a character
        // split across GPT-2 tokens is never printed broken), trimmed like the text it decodes to.
        Console.Write("Assistant: ");
        string heldWhitespace = string.Empty;
        bool started = false;
        foreach (string piece in NewLlmGenerator.DecodeByWords(tokenizer.Tokenizer, tokens))
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

        // Tokens the session read beyond the input and the reply are the stop sequence that ended it.
        long stopLength = session.TokensSeen - before - inputIds.Length - reply.Count;
        humanTagFed = stopLength == humanTag.Length && humanTag.Length > 0;
        Console.WriteLine($"  ({session.TokensSeen} tokens read so far; state: one context vector of {model.Options.ContextDim} numbers)");
    }

    return 0;
}

static IEnumerable<int> Recorded(IEnumerable<int> tokens, List<int> into)
{
    foreach (int token in tokens)
    {
        into.Add(token);
        yield return token;
    }
}

static IEnumerable<string> ReadTurns()
{
    while (true)
    {
        if (!Console.IsInputRedirected)
        {
            Console.Write("> ");
        }

        string? line = Console.ReadLine();
        if (line is null)
        {
            yield break;
        }

        yield return line;
    }
}

// The original trainer stores no vocabulary: it rebuilds it from its training data at start-up, and so does this.
static DialogueTokenizer RebuildVocabulary(string path, string? dataDirectory, string subsetName, int vocabSize)
{
    if (dataDirectory is null)
    {
        throw new ArgumentException($"{path} holds no vocabulary (an original New-LLM checkpoint): give --data-dir (and --subset) of the data it was trained on, and the vocabulary is rebuilt from it as the original does.");
    }

    HhRlhfDataset train = HhRlhfDataset.LoadFromDirectoryAsync(dataDirectory, HhRlhfLayout.ParseSubset(subsetName), HhRlhfSplit.Train).GetAwaiter().GetResult();
    WordLevelTokenizer tokenizer = WordLevelTokenizer.Build(train.GetNormalizedChosenTexts());
    return tokenizer.VocabSize == vocabSize
        ? tokenizer
        : throw new InvalidDataException($"The vocabulary rebuilt from {train.SourceDescription} has {tokenizer.VocabSize} ids, but the model in {path} has {vocabSize}: give the data it was trained on.");
}
