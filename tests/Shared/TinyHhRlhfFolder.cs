using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace NewLlm.Tests;

/// <summary>A small HH-RLHF folder laid out like the Hub repository (<c>harmless-base/{train,test}.jsonl.gz</c>), with rows written here.</summary>
internal static class TinyHhRlhfFolder
{
    private static readonly string[] Questions = ["how do I bake bread", "what is the weather like", "can you help me with my homework", "tell me a story", "how far is the moon", "what should I cook tonight"];
    private static readonly string[] Answers = ["you mix flour water and yeast then bake it", "it is sunny with some clouds", "sure what is the question", "once upon a time there was a small robot", "about three hundred eighty thousand kilometers", "a simple soup with vegetables is nice"];

    public static string Create(string root, int trainRows = 200, int testRows = 24)
    {
        string folder = Path.Combine(root, "data");
        Write(Path.Combine(folder, "harmless-base", "train.jsonl.gz"), trainRows, seed: 1);
        Write(Path.Combine(folder, "harmless-base", "test.jsonl.gz"), testRows, seed: 2);
        return folder;
    }

    private static void Write(string path, int rows, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(seed);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new StreamWriter(gzip, new UTF8Encoding(false));
        for (int i = 0; i < rows; i++)
        {
            int q = random.Next(Questions.Length);
            string chosen = $"\n\nHuman: {Questions[q]}\n\nAssistant: {Answers[q]}";
            string rejected = $"\n\nHuman: {Questions[q]}\n\nAssistant: {Answers[random.Next(Answers.Length)]}";
            writer.WriteLine(JsonSerializer.Serialize(new { chosen, rejected }));
        }
    }
}
