using System.Text;
using System.Text.Json;

namespace NewLlm.Tests;

/// <summary>Small dialogue files in the real sets' formats, with rows written here (never rows of the real sets).</summary>
internal static class TinyDialogueFiles
{
    private static readonly string[] Words = ["bread", "flour", "water", "yeast", "bake", "oven", "moon", "far", "story", "robot", "soup", "cook", "sunny", "cloud", "help", "homework", "question", "answer", "small", "simple"];

    /// <summary>A Dolly-15k folder laid out like the Hub repository: <c>databricks-dolly-15k.jsonl</c>.</summary>
    public static string Dolly(string root, int rows = 200)
    {
        string folder = Path.Combine(root, "dolly");
        Directory.CreateDirectory(folder);
        var random = new Random(1);
        WriteLines(Path.Combine(folder, "databricks-dolly-15k.jsonl"), rows, i => JsonSerializer.Serialize(new
        {
            instruction = Sentence(random, 6),
            context = i % 3 == 0 ? Sentence(random, 8) : string.Empty,
            response = Sentence(random, 10),
            category = "open_qa",
        }));
        return folder;
    }

    /// <summary>A JSON Lines file of chat messages (<c>{"messages": [{"role", "content"}, ...]}</c>) with other words than <see cref="Dolly"/>'s.</summary>
    public static string Chat(string root, int rows = 200)
    {
        string path = Path.Combine(root, "chat.jsonl");
        var random = new Random(2);
        WriteLines(path, rows, _ => JsonSerializer.Serialize(new
        {
            messages = new[]
            {
                new { role = "user", content = "please " + Sentence(random, 6) + " tonight" },
                new { role = "assistant", content = "certainly " + Sentence(random, 8) + " tomorrow" },
            },
        }));
        return path;
    }

    public static void WriteLines(string path, int rows, Func<int, string> row)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        for (int i = 0; i < rows; i++)
        {
            writer.WriteLine(row(i));
        }
    }

    private static string Sentence(Random random, int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[random.Next(Words.Length)]));
}
