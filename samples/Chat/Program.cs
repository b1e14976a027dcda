// Chats with a checkpoint trained on HH-RLHF, in its turn format ("Human: ... Assistant: ..."). The model reads and
// writes one token at a time, carrying only its context vector, so memory per token is constant. Each reply is printed
// word by word as it is generated and ends at the end of text, at 64 tokens, or where the model starts your next turn.
//   dotnet run -c Release --project samples/Chat -- out/best_my_run.pt
//   dotnet run -c Release --project samples/Chat -- out/best_my_run.pt "how do I bake bread?" "thanks!"
// Arguments: the checkpoint, then your turns; without turns they are read from standard input (an empty line ends).
using NewLlm;
using NewLlm.Data;
using NewLlm.Training;

string path = args.Length > 0 ? args[0] : "out/best_my_run.pt";
NewLlmModel model = (NewLlmModel)CheckpointFile.LoadModel(path);
DialogueTokenizer tokenizer = CheckpointFile.LoadTokenizer(path)
    ?? throw new InvalidDataException($"{path} holds no vocabulary: it was not written by a Trainer.");

var generator = new NewLlmGenerator(model);
var sampling = new GenerationOptions { Temperature = 0.8, TopK = 40, TopP = 0.95, MaxNewTokens = 64, Seed = 1, StopStrings = { "Human:" } };
using var conversation = new GenerationSession(model);
conversation.Feed(tokenizer.BosId); // dialogues start with BOS in training

foreach (string turn in args.Length > 1 ? args[1..] : ReadTurns())
{
    if (string.IsNullOrWhiteSpace(turn))
    {
        break;
    }

    // When the last reply ended with the model writing "Human:", the session has read that label already.
    string label = conversation.StopReason switch
    {
        null => "Human:",
        GenerationStopReason.StopString => string.Empty,
        _ => " Human:",
    };
    Console.WriteLine($"Human: {turn.Trim()}");
    Console.Write("Assistant: ");
    foreach (string words in generator.StreamText(tokenizer.Tokenizer, $"{label} {turn.Trim()} Assistant:", sampling, conversation))
    {
        Console.Write(words);
    }

    Console.WriteLine();
    Console.WriteLine($"  [stopped: {conversation.StopReason}; {conversation.TokensSeen} tokens read, one context vector of {model.Options.ContextDim} numbers kept]");
}

static IEnumerable<string> ReadTurns()
{
    while (Console.ReadLine() is string line)
    {
        yield return line;
    }
}
