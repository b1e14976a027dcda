using System.Text;
using System.Text.Json;

namespace NewLlm.Samples.Tests;

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

    private static void WriteLines(string path, int rows, Func<int, string> row)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        for (int i = 0; i < rows; i++)
        {
            writer.WriteLine(row(i));
        }
    }

    private static string Sentence(Random random, int words) => string.Join(' ', Enumerable.Range(0, words).Select(_ => Words[random.Next(Words.Length)]));
}
